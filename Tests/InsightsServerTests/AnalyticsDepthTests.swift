import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import Testing

/// Issue 16's quality and workflow metrics over HTTP, on a hand-computed data set sent shuffled,
/// with re-sent duplicates and an event outside the window.
@Suite("Analytics depth: quality and workflows")
struct AnalyticsDepthTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    func e(_ id: String, _ type: String, _ sec: Int64, data: [String: Any] = [:], sentiment: String? = nil, duration: Int? = nil,
           ago: Int64 = 3_600_000) -> [String: Any] {
        var ev: [String: Any] = ["event_id": id, "agent_id": "depth", "session_id": "s-" + id, "event_type": type,
                                 "timestamp": ISO8601.format(ms: f.nowMs - ago + sec * 1000)]
        if !data.isEmpty { ev["data"] = data }
        if let sentiment { ev["sentiment"] = sentiment }
        if let duration { ev["duration_ms"] = duration }
        return ev
    }

    // Feedback: f1 5 + up, f2 4, f3 2 + down, f4 up only, f5 3.5 and "sideways" (neither counts);
    //   f0 (40 days ago, rating 1) is outside the default 30-day window.
    //   → feedback_count 5, ratings 3, avg (5+4+2)/3 = 3.667, csat 100·2/3 = 66.67, thumbs 2 up 1 down → 66.67.
    // Sentiment: positive ×2, "Negative", neutral, "angry" (→ other) → negative_rate 100·1/5 = 20.
    // Workflows: refund started ×3, completed ×2 (1 000 and 3 000 ms), failed ×1 → 66.67 %, 2 000 ms;
    //   lookup started 1, completed 1 (no duration) → 100 %, 0; "=sum(a,b)" started 1; a workflow
    //   named 123 (not a string) counts in no name.
    var events: [[String: Any]] {
        [
            e("f1", "user_feedback", 1, data: ["rating": 5, "thumbs": "up"], sentiment: "positive"),
            e("f2", "user_feedback", 2, data: ["rating": 4]),
            e("f3", "user_feedback", 3, data: ["rating": 2, "thumbs": "down"], sentiment: "Negative"),
            e("f4", "user_feedback", 4, data: ["thumbs": "up"]),
            e("f5", "user_feedback", 5, data: ["rating": 3.5, "thumbs": "sideways"], sentiment: "neutral"),
            e("f0", "user_feedback", 0, data: ["rating": 1], ago: 40 * 86_400_000),
            e("m1", "user_message", 6, sentiment: "positive"),
            e("m2", "user_message", 7, sentiment: "angry"),
            e("w1", "workflow_started", 10, data: ["workflow": "refund"]),
            e("w2", "workflow_completed", 11, data: ["workflow": "refund"], duration: 1000),
            e("w3", "workflow_started", 12, data: ["workflow": "refund"]),
            e("w4", "workflow_completed", 13, data: ["workflow": "refund"], duration: 3000),
            e("w5", "workflow_started", 14, data: ["workflow": "refund"]),
            e("w6", "workflow_failed", 15, data: ["workflow": "refund"]),
            e("w7", "workflow_started", 16, data: ["workflow": "lookup"]),
            e("w8", "workflow_completed", 17, data: ["workflow": "lookup"]),
            e("w9", "workflow_started", 18, data: ["workflow": "=sum(a,b)"]),
            e("w10", "workflow_started", 19, data: ["workflow": 123]),
        ]
    }

    @Test func qualityAndWorkflowsJSONAndCSV() async throws {
        let all = events.shuffled()
        let batch = try body(all), again = try body([all[0], all[3], events[3], events[9]])
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: batch) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post, body: again) { r in
                let dups = try object(r)["duplicates"] as? Int
                #expect(dups == 4)
            }
            try await client.execute(uri: "/api/v1/analytics/quality/metrics?agent_id=depth", method: .get) { r in
                #expect(r.status == .ok)
                let q = try object(r)
                #expect(q["feedback_count"] as? Int == 5 && q["ratings"] as? Int == 3)
                #expect(abs((q["avg_rating"] as? Double ?? 0) - 11 / 3.0) < 1e-9)
                #expect(abs((q["csat"] as? Double ?? 0) - 200 / 3.0) < 1e-9)
                #expect(abs((q["thumbs_up_rate"] as? Double ?? 0) - 200 / 3.0) < 1e-9)
                #expect(q["thumbs_up"] as? Int == 2 && q["thumbs_down"] as? Int == 1)
                #expect(q["sentiment"] as? [String: Int] == ["positive": 2, "negative": 1, "neutral": 1, "other": 1])
                #expect(q["negative_rate"] as? Double == 20)
            }
            try await client.execute(uri: "/api/v1/analytics/workflows/metrics?agent_id=depth", method: .get) { r in
                let w = try #require(try object(r)["workflows"] as? [String: [String: Any]])
                #expect(Set(w.keys) == ["refund", "lookup", "=sum(a,b)"])
                #expect(w["refund"]?["started"] as? Int == 3 && w["refund"]?["completed"] as? Int == 2 && w["refund"]?["failed"] as? Int == 1)
                #expect(abs((w["refund"]?["completion_rate"] as? Double ?? 0) - 200 / 3.0) < 1e-9)
                #expect(w["refund"]?["avg_duration_ms"] as? Double == 2000)
                #expect(w["lookup"]?["completion_rate"] as? Double == 100 && w["lookup"]?["avg_duration_ms"] as? Double == 0)
                #expect(w["=sum(a,b)"]?["started"] as? Int == 1 && w["=sum(a,b)"]?["completion_rate"] as? Double == 0)
            }
            try await client.execute(uri: "/api/v1/analytics/workflows/metrics?agent_id=depth&format=csv", method: .get) { r in
                #expect(r.headers[.contentType]?.hasPrefix("text/csv") == true)
                #expect(String(buffer: r.body) == """
                    workflow,started,completed,failed,completion_rate,avg_duration_ms\r
                    "'=sum(a,b)",1,0,0,0,0\r
                    lookup,1,1,0,100,0\r
                    refund,3,2,1,\(200 / 3.0),2000\r

                    """)
            }
            var h = HTTPFields()
            h[.accept] = "text/csv"
            try await client.execute(uri: "/api/v1/analytics/quality/metrics?agent_id=depth", method: .get, headers: h) { r in
                let lines = String(buffer: r.body).components(separatedBy: "\r\n")
                #expect(lines.first == "metric,value" && lines.contains("feedback_count,5") && lines.contains("negative_rate,20"))
                #expect(lines.contains("sentiment.other,1") && lines.contains("csat,\(200 / 3.0)"))
                #expect(r.headers[.contentDisposition] == "attachment; filename=\"quality.csv\"")
            }
            // The 40-day-old rating counts in a window that holds it.
            let old = "start_date=\(q(ISO8601.format(ms: f.nowMs - 41 * 86_400_000)))"
            try await client.execute(uri: "/api/v1/analytics/quality/metrics?agent_id=depth&\(old)", method: .get) { r in
                let o = try object(r)
                #expect(o["ratings"] as? Int == 4 && o["avg_rating"] as? Double == 3)
            }
            try await client.execute(uri: "/api/v1/analytics/quality/metrics?agent_id=depth&format=xml", method: .get) { r in
                #expect(r.status == .badRequest && (try? object(r))?["error"] as? String == "invalid parameter format")
            }
        }
    }
}
