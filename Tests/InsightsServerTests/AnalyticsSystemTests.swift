import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import RedisClient
import Testing

/// Issue 16's system events, intents in depth, intent paths and funnels over HTTP, on a
/// hand-computed data set sent shuffled, with re-sent duplicates and late events that change a
/// finalized session's path and error flag.
@Suite("Analytics depth: system events, intents, paths, funnels")
struct AnalyticsSystemTests {
    let f: ServerFixture
    /// Start of the data set: two hours ago, on a second.
    let t0: Int64

    init() throws {
        f = try ServerFixture()
        t0 = (f.nowMs - 2 * 3_600_000) / 1000 * 1000
    }

    func e(_ id: String, _ sid: String, _ type: String, _ sec: Int64, data: [String: Any] = [:], conf: Double? = nil,
           duration: Int? = nil, rt: Int? = nil, agent: String = "deep") -> [String: Any] {
        var ev: [String: Any] = ["event_id": id, "agent_id": agent, "session_id": sid, "event_type": type,
                                 "timestamp": ISO8601.format(ms: t0 + sec * 1000)]
        if !data.isEmpty { ev["data"] = data }
        if let conf { ev["confidence"] = conf }
        if let duration { ev["duration_ms"] = duration }
        if let rt { ev["response_time_ms"] = rt }
        return ev
    }

    func intent(_ id: String, _ sid: String, _ sec: Int64, _ name: String, _ conf: Double?) -> [String: Any] {
        e(id, sid, "intent_classified", sec, data: ["intent": name], conf: conf)
    }

    // Sessions (paths after the late events; conf in brackets):
    //   S1 greeting(.95) greeting(.6) billing(.55) payment(.3), error "timeout", ended → [greeting, billing, payment]
    //   S2 greeting(.9) billing(–), escalated, entities date date amount, not ended → dropped
    //   S3 billing(.7) greeting(0) billing(.65), entity "date", ended → [billing, greeting, billing]
    //   S4 greeting(.8) billing(.75) payment(1), ended; late: refund(.2) before all, error 503 → [refund, greeting, billing, payment]
    //   S5 no intent, error without code, ended
    //   S6 greeting(.85), entity type 5 (not counted), api calls, ended
    var events: [[String: Any]] {
        [
            e("a1", "S1", "conversation_start", 0), intent("a2", "S1", 1, "greeting", 0.95), intent("a3", "S1", 2, "greeting", 0.6),
            intent("a4", "S1", 3, "billing", 0.55), intent("a5", "S1", 4, "payment", 0.3),
            e("a6", "S1", "error", 5, data: ["code": "timeout"]), e("a7", "S1", "conversation_end", 6),
            intent("b1", "S2", 10, "greeting", 0.9), intent("b2", "S2", 11, "billing", nil),
            e("b3", "S2", "bot_response", 12, data: ["escalated_to_human": true], rt: 40),
            e("b4", "S2", "entity_extracted", 13, data: ["entities": [["type": "date"], ["type": "date"], ["type": "amount"]]]),
            intent("c1", "S3", 20, "billing", 0.7), intent("c2", "S3", 21, "greeting", 0), intent("c3", "S3", 22, "billing", 0.65),
            e("c4", "S3", "entity_extracted", 23, data: ["entity": "date"]), e("c5", "S3", "conversation_end", 24),
            intent("d1", "S4", 30, "greeting", 0.8), intent("d2", "S4", 31, "billing", 0.75), intent("d3", "S4", 32, "payment", 1),
            e("d4", "S4", "conversation_end", 33),
            e("e1", "S5", "error", 40), e("e2", "S5", "conversation_end", 41),
            intent("g1", "S6", 50, "greeting", 0.85), e("g2", "S6", "entity_extracted", 51, data: ["entities": [["type": 5]]]),
            e("g3", "S6", "api_call", 52, data: ["endpoint": "/pay", "status_code": 200], duration: 100),
            e("g4", "S6", "api_call", 53, data: ["endpoint": "/pay", "status_code": 503], duration: 300),
            e("g5", "S6", "api_call", 54, data: ["endpoint": "/pay", "success": false], duration: 200),
            e("g6", "S6", "api_call", 55, data: ["endpoint": "/search"], duration: 50),
            e("g7", "S6", "api_call", 56, duration: 0),
            e("g8", "S6", "api_call", 57, data: ["endpoint": "/search", "success": true]),
            e("g9", "S6", "conversation_end", 58),
        ]
    }

    var late: [[String: Any]] { [intent("d0", "S4", 29, "refund", 0.2), e("d5", "S4", "error", 34, data: ["code": 503])] }

    static func bin(_ ms: Int) -> Double { pow(2, (Double(EventCounters.responseTimeBin(ms)) + 0.5) / 4) }

    func csv(_ client: some TestClientProtocol, _ path: String) async throws -> [String] {
        try await client.execute(uri: "/api/v1/analytics/" + path + "&format=csv", method: .get) { r in
            #expect(r.headers[.contentType]?.hasPrefix("text/csv") == true)
            return String(buffer: r.body).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        }
    }

    func paths(_ o: [String: Any]) -> [[String]] {
        (o["paths"] as? [[String: Any]] ?? []).map { p in
            (p["intents"] as? [String] ?? []) + ["\(p["sessions"] ?? "")", "\(p["ended"] ?? "")", "\(p["dropped"] ?? "")", "\(p["escalated"] ?? "")"]
        }
    }

    @Test func systemIntentsPathsFunnels() async throws {
        let all = events.shuffled()
        let part1 = try body(Array(all[..<20])), part2 = try body(Array(all[20...]))
        // Re-sent: an api call, an intent, an entity event with a doubled type, an error.
        let again = try body([events[25], events[1], events[10], events[5]]), lateBody = try body(late)
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: part1) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post, body: part2) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post, body: again) { r in
                let dups = try object(r)["duplicates"] as? Int
                #expect(dups == 4)
            }
            try await f.drain(agents: ["deep"])

            // Before the late events: S4's path starts with greeting, it has no error.
            let p1 = paths(try await analytics(client, "users/paths?agent_id=deep&depth=1"))
            #expect(p1 == [["greeting", "4", "3", "1", "1"], ["billing", "1", "1", "0", "0"]])
            let s1 = try await analytics(client, "system/metrics?agent_id=deep")
            #expect(s1["conversations_with_errors"] as? Int == 2 && s1["finalized_conversations"] as? Int == 6)

            try await client.execute(uri: "/api/v1/events", method: .post, body: lateBody) { r in
                let accepted = try object(r)["accepted"] as? Int
                #expect(accepted == 2)
            }
            try await f.drain(agents: ["deep"])

            // System: 6 calls, 2 failed; latencies 100, 300, 200, 50, 0 (g8 has none).
            let s = try await analytics(client, "system/metrics?agent_id=deep")
            #expect(s["api_calls"] as? Int == 6 && s["api_failures"] as? Int == 2)
            #expect(abs((s["api_failure_rate"] as? Double ?? 0) - 100 / 3.0) < 1e-9)
            #expect(s["api_p50_ms"] as? Double == Self.bin(100))  // rank 3 of 5
            #expect(s["api_p95_ms"] as? Double == Self.bin(300))  // rank 5 of 5
            let ep = try #require(s["endpoints"] as? [String: [String: Any]])
            #expect(Set(ep.keys) == ["/pay", "/search", "unknown"])
            #expect(ep["/pay"]?["calls"] as? Int == 3 && ep["/pay"]?["failures"] as? Int == 2)
            #expect(abs((ep["/pay"]?["failure_rate"] as? Double ?? 0) - 200 / 3.0) < 1e-9)
            #expect(ep["/pay"]?["p95_ms"] as? Double == Self.bin(300))
            #expect(ep["/search"]?["calls"] as? Int == 2 && ep["/search"]?["failure_rate"] as? Double == 0)
            #expect(ep["/search"]?["p95_ms"] as? Double == Self.bin(50))
            #expect(ep["unknown"]?["calls"] as? Int == 1 && ep["unknown"]?["p95_ms"] as? Double == 0.5)
            #expect(s["errors"] as? Int == 3)
            #expect(s["error_codes"] as? [String: Int] == ["timeout": 1, "503": 1, "unknown": 1])
            #expect(s["conversations_with_errors"] as? Int == 3 && s["finalized_conversations"] as? Int == 6)
            #expect(s["conversations_with_errors_rate"] as? Double == 50)
            let sc = try await csv(client, "system/metrics?agent_id=deep")
            #expect(sc.first == "metric,name,value" && sc.contains("api_calls,,6") && sc.contains("endpoint_calls,/pay,3"))
            #expect(sc.contains("error_code,503,1") && sc.contains("conversations_with_errors_rate,,50"))

            // Intents at the default threshold 0.7 and at others.
            let n = try await analytics(client, "nlu/intents?agent_id=deep")
            #expect(n["threshold"] as? Double == 0.7)
            let i = try #require(n["intents"] as? [String: [String: Any]])
            #expect(i["greeting"]?["count"] as? Int == 6 && i["billing"]?["count"] as? Int == 5)
            #expect(i["payment"]?["count"] as? Int == 2 && i["refund"]?["count"] as? Int == 1)
            #expect(abs((i["greeting"]?["avg_confidence"] as? Double ?? 0) - 0.82) < 1e-9)
            #expect(abs((i["billing"]?["avg_confidence"] as? Double ?? 0) - 0.6625) < 1e-9)
            #expect(abs((i["payment"]?["avg_confidence"] as? Double ?? 0) - 0.65) < 1e-9)
            #expect(abs((i["greeting"]?["low_confidence_rate"] as? Double ?? 0) - 100 / 3.0) < 1e-9)
            #expect(i["billing"]?["low_confidence_rate"] as? Double == 40)
            #expect(i["payment"]?["low_confidence_rate"] as? Double == 50 && i["refund"]?["low_confidence_rate"] as? Double == 100)
            #expect(n["entities"] as? [String: Int] == ["date": 3, "amount": 1])
            func low(_ t: String, _ name: String) async throws -> Double? {
                let o = try await analytics(client, "nlu/intents?agent_id=deep&threshold=\(t)")
                return (o["intents"] as? [String: [String: Any]])?[name]?["low_confidence_rate"] as? Double
            }
            let g60 = try await low("0.6", "greeting"), g65 = try await low("0.65", "greeting")
            let b60 = try await low("0.6", "billing"), b75 = try await low("0.75", "billing"), p100 = try await low("1", "payment")
            #expect(abs((g60 ?? 0) - 100 / 6.0) < 1e-9)  // 0.6 itself is not below 0.6
            #expect(abs((g65 ?? 0) - 100 / 3.0) < 1e-9)
            #expect(b60 == 20 && b75 == 60)
            #expect(p100 == 50)  // 1.0 is below no threshold
            for bad in ["0.62", "0", "1.05", "abc", "-0.05"] {
                try await client.execute(uri: "/api/v1/analytics/nlu/intents?agent_id=deep&threshold=\(bad)", method: .get) { r in
                    #expect(r.status == .badRequest && (try? object(r))?["error"] as? String == "invalid parameter threshold")
                }
            }
            let ic = try await csv(client, "nlu/intents?agent_id=deep&threshold=0.6")
            #expect(ic.first == "kind,name,count,avg_confidence,low_confidence_rate")
            #expect(ic.contains("intent,billing,5,0.6625,20") && ic.contains("entity,date,3,,"))

            // Paths after the late events.
            #expect(paths(try await analytics(client, "users/paths?agent_id=deep&depth=1")) == [
                ["greeting", "3", "2", "1", "1"], ["billing", "1", "1", "0", "0"], ["refund", "1", "1", "0", "0"]])
            #expect(paths(try await analytics(client, "users/paths?agent_id=deep&depth=2")) == [
                ["greeting", "billing", "2", "1", "1", "1"], ["billing", "greeting", "1", "1", "0", "0"], ["greeting", "1", "1", "0", "0"],
                ["refund", "greeting", "1", "1", "0", "0"]])
            let p3 = try await analytics(client, "users/paths?agent_id=deep")
            #expect(p3["depth"] as? Int == 3 && p3["sessions"] as? Int == 5 && p3["distinct_paths"] as? Int == 5)
            #expect(paths(p3) == [
                ["billing", "greeting", "billing", "1", "1", "0", "0"], ["greeting", "1", "1", "0", "0"],
                ["greeting", "billing", "1", "0", "1", "1"], ["greeting", "billing", "payment", "1", "1", "0", "0"],
                ["refund", "greeting", "billing", "1", "1", "0", "0"]])
            #expect(paths(try await analytics(client, "users/paths?agent_id=deep&depth=3&limit=2")).count == 2)
            let pc = try await csv(client, "users/paths?agent_id=deep&depth=2")
            #expect(pc == ["intent_1,intent_2,sessions,ended,dropped,escalated", "greeting,billing,2,1,1,1", "billing,greeting,1,1,0,0",
                           "greeting,,1,1,0,0", "refund,greeting,1,1,0,0"])

            // Funnel greeting → billing → payment: S1 S2 S3 S4 S6 / S1 S2 S3 S4 / S1 S4.
            let fu = try await analytics(client, "users/funnel?agent_id=deep&steps=greeting,billing,payment")
            let steps = try #require(fu["steps"] as? [[String: Any]])
            #expect(steps.map { $0["intent"] as? String } == ["greeting", "billing", "payment"])
            #expect(steps.map { $0["sessions"] as? Int } == [5, 4, 2])
            #expect(steps.map { $0["conversion_rate"] as? Double } == [100, 80, 40])
            let fc = try await csv(client, "users/funnel?agent_id=deep&steps=refund,payment")
            #expect(fc == ["step,intent,sessions,conversion_rate", "1,refund,1,100", "2,payment,1,100"])
            for (bad, why) in [("greeting", "2 to 6"), ("a,b,c,d,e,f,g", "2 to 6"), ("greeting,greeting", "repeats"), ("a,,b", "steps[1]")] {
                try await client.execute(uri: "/api/v1/analytics/users/funnel?agent_id=deep&steps=\(bad)", method: .get) { r in
                    let o = try object(r)
                    #expect(r.status == .badRequest && o["error"] as? String == "invalid parameter steps")
                    #expect((o["detail"] as? String)?.contains(why) == true, "\(o)")
                }
            }
            for bad in ["depth=0", "depth=6", "limit=0", "depth=2.5"] {
                try await client.execute(uri: "/api/v1/analytics/users/paths?agent_id=deep&\(bad)", method: .get) { r in
                    #expect(r.status == .badRequest)
                }
            }
        }
    }

    /// 52 endpoints: the first 50 (in name order within the batch) are counted by name, the rest as
    /// `other`, in that batch and later ones.
    @Test func endpointNamesAreCapped() async throws {
        let first = (0..<52).map { e(String(format: "k%02d", $0), "S", "api_call", Int64($0), data: ["endpoint": String(format: "ep%02d", $0)],
                                     agent: "capped") }
        let later = [e("k52", "S", "api_call", 60, data: ["endpoint": "ep51"], agent: "capped"),
                     e("k53", "S", "api_call", 61, data: ["endpoint": "ep00"], agent: "capped")]
        let b1 = try body(first.shuffled()), b2 = try body(later)
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: b1) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post, body: b2) { r in #expect(r.status == .ok) }
            let s = try await analytics(client, "system/metrics?agent_id=capped")
            let ep = try #require(s["endpoints"] as? [String: [String: Any]])
            #expect(ep.count == 51 && s["api_calls"] as? Int == 54)
            #expect(ep["ep00"]?["calls"] as? Int == 2 && ep["ep49"]?["calls"] as? Int == 1 && ep["ep50"] == nil)
            #expect(ep["other"]?["calls"] as? Int == 3)
            let registered = try await f.client.send("SCARD", key: "ins:{capped}:nm:ep").int
            #expect(registered == EventCounters.nameCap)
        }
    }
}
