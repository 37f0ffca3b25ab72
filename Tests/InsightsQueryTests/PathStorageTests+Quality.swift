import Foundation
import InsightsModel
@testable import InsightsQuery
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// Feedback, sentiment and workflow counters live in family `q` (since stop 25, docs/keys.md,
/// *Counter families*): the overview's maps no longer carry them, and quality/metrics and
/// workflows/metrics sum the family with what buckets written before hold in their own map.
/// (In the suite of PathStorageTests: the same private server and agent setup.)
extension PathStorageTests {
    func qev(_ id: String, _ type: EventType, data: [String: JSONValue] = [:], sentiment: String? = nil,
            durationMs: Int? = nil) -> AnalyticsEvent {
        var e = AnalyticsEvent(eventID: id, eventType: type, timestampMs: (H + 600) * 1000, sessionID: "s", agentID: "pth", data: data)
        e.sentiment = sentiment
        e.durationMs = durationMs
        return e
    }

    func counterMap(_ key: String) async throws -> [String: Int] {
        guard let blob = try await client.send("GET", key: key).bytes else { return [:] }
        var out: [String: Int] = [:]
        for (k, v) in try MessagePack.decode(blob).mapValue ?? [] { out[CounterCode.name(k)] = Int(v.intValue ?? 0) }
        return out
    }

    @Test func theFamilyHoldsThemAndReadersSumTheOlderForm() async throws {
        let events = [qev("f1", .userFeedback, data: ["rating": 5, "thumbs": "up"], sentiment: "Positive"),
                      qev("w1", .workflowStarted, data: ["workflow": "refund"]),
                      qev("w2", .workflowCompleted, data: ["workflow": "refund"], durationMs: 300)]
        #expect(try await ingestor.ingest(events).accepted == 3)
        let hour = "ins:{pth}:c:h:\(H)"
        let own = try await counterMap(hour), family = try await counterMap(hour + ":q")
        #expect(family == ["fb:n": 1, "fb:rating_sum": 5, "fb:rating_n": 1, "fb:csat": 1, "fb:up": 1, "sent:positive": 1,
                           "wf:started:refund": 1, "wf:completed:refund": 1, "wfd:sum:refund": 300, "wfd:n:refund": 1])
        #expect(own["events"] == 3 && own["ev:workflow_started"] == 1 && own.keys.allSatisfy { !$0.hasPrefix("fb:") && !$0.hasPrefix("wf") && !$0.hasPrefix("sent:") })
        // The form before stop 25: the same kind of counters in the bucket's own map (an earlier
        // hour, as an older Redis holds them): a feedback with rating 3, thumbs down, a failed refund.
        let earlier = "ins:{pth}:c:h:\(H - 3600)"
        var set = RedisCommand("SET", key: earlier)
        set.append(bytes: MessagePack.encode(.map([("events", 2), ("fb:n", 1), ("fb:rating_sum", 3), ("fb:rating_n", 1), ("fb:down", 1),
                                                    ("sent:negative", 1), ("wf:failed:refund", 1)].map { (Array($0.0.utf8), .int($0.1)) })))
        try await client.send(set)
        let start = (H - 3600) * 1000, end = (H + 3600) * 1000
        let q = try await query.quality(agent: "pth", start: start, end: end)
        #expect(q.feedbackCount == 2 && q.avgRating == 4 && q.csat == 50 && q.thumbsUp == 1 && q.thumbsDown == 1)
        #expect(q.sentiment == ["positive": 1, "negative": 1])
        let w = try await query.workflows(agent: "pth", start: start, end: end)
        let refund = try #require(w.workflows["refund"])
        #expect(refund.started == 1 && refund.completed == 1 && refund.failed == 1 && refund.avgDurationMs == 300)
    }
}
