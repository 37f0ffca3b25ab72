import Foundation
import InsightsModel
@testable import InsightsQuery
import InsightsTestSupport
import InsightsTracker
import InsightsWorker
import RedisClient
import Testing

/// How intent paths are stored (docs/keys.md, family `p`): one packed field per path, and the
/// three-field form written before issue 13's packing still read, on a private redis-server.
@Suite("Intent path storage")
struct PathStorageTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    let query: MetricsQuery
    /// H = start of the hour two hours ago (s).
    let H: Int64

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
        query = MetricsQuery(client: client)
        H = (EventClock.nowMs() / 1000 / 3600 - 2) * 3600
    }

    func ev(_ id: String, _ sec: Int64, _ type: EventType, _ session: String, intent: String? = nil, escalated: Bool = false) -> AnalyticsEvent {
        var data: [String: JSONValue] = [:]
        if let intent { data["intent"] = .string(intent) }
        if escalated { data["escalated_to_human"] = .bool(true) }
        return AnalyticsEvent(eventID: id, eventType: type, timestampMs: (H + 600 + sec) * 1000, sessionID: session, agentID: "pth", data: data)
    }

    func drain() async throws {
        let w = try Worker(client: client, configuration: WorkerConfiguration(consumerName: "w", claimInterval: .zero,
                                                                             agentRefreshInterval: .zero, sweepInterval: .zero))
        for _ in 0..<50 where try await w.lag().total.total > 0 { try await w.processOnce() }
        #expect(try await w.lag().total.total == 0)
    }

    func fields(_ key: String) async throws -> [String: String] {
        let flat = try await client.send("HGETALL", key: key).array ?? []
        var out: [String: String] = [:]
        for i in stride(from: 0, to: flat.count, by: 2) { out[flat[i].string ?? "?"] = flat[i + 1].string }
        return out
    }

    let gb = "greeting\u{1F}billing"

    @Test func onePackedFieldPerPathBesideTheOlderForm() async throws {
        // A: greeting, billing, ended. B: greeting, billing, escalated, ended.
        let events = [ev("a1", 0, .intentClassified, "A", intent: "greeting"), ev("a2", 1, .intentClassified, "A", intent: "billing"),
                      ev("a3", 2, .conversationEnd, "A"),
                      ev("b1", 10, .intentClassified, "B", intent: "greeting"), ev("b2", 11, .intentClassified, "B", intent: "billing"),
                      ev("b3", 12, .botResponse, "B", escalated: true), ev("b4", 13, .conversationEnd, "B")]
        #expect(try await ingestor.ingest(events).accepted == 7)
        try await drain()
        let hour = "ins:{pth}:c:h:\(H):p", day = "ins:{pth}:c:d:\(H / 86400 * 86400):p"
        // 2 sessions, both ended, 1 escalated: one field, in the hour and the day bucket.
        #expect(try await fields(hour) == ["p:\(gb)": "2:2:1"])
        #expect(try await fields(day) == ["p:\(gb)": "2:2:1"])
        // Late events put refund first in both sessions: the old path's field goes back to 0:0:0 and is deleted.
        #expect(try await ingestor.ingest([ev("a0", -5, .intentClassified, "A", intent: "refund"),
                                           ev("b0", 9, .intentClassified, "B", intent: "refund")]).accepted == 2)
        try await drain()
        #expect(try await fields(hour) == ["p:refund\u{1F}\(gb)": "2:2:1"])
        #expect(try await fields(day) == ["p:refund\u{1F}\(gb)": "2:2:1"])
        // A Redis written before the packing holds the three-field form (here: 3 sessions, 1 ended, 2 escalated)
        // and a packed field that corrected it below zero (greeting: 4 sessions, 1 ended, then −1 and −1): a query adds them all.
        try await client.send("HSET", key: hour, "s:\(gb)", "3", "e:\(gb)", "1", "x:\(gb)", "2", "p:greeting", "-1:-1:0", "s:greeting", "4",
                              "e:greeting", "1")
        let end = (H + 3600) * 1000
        let p = try await query.paths(agent: "pth", start: H * 1000, end: end, depth: 2, limit: 10)
        // greeting: 4 − 1 = 3 sessions, 1 − 1 = 0 ended; greeting→billing: 3, 1 ended (2 dropped), 2 escalated;
        // refund→greeting: 2, 2 ended, 1 escalated. Ties by sequence: the shorter path first.
        #expect(p.paths == [IntentPath(intents: ["greeting"], sessions: 3, ended: 0, dropped: 3, escalated: 0),
                            IntentPath(intents: ["greeting", "billing"], sessions: 3, ended: 1, dropped: 2, escalated: 2),
                            IntentPath(intents: ["refund", "greeting"], sessions: 2, ended: 2, dropped: 0, escalated: 1)])
        #expect(p.sessions == 8 && p.distinctPaths == 3)
        let f = try await query.funnel(agent: "pth", start: H * 1000, end: end, steps: ["greeting", "billing"])
        #expect(f.steps.map(\.sessions) == [8, 5])
        // A field of neither form is refused, not read as zero.
        try await client.send("HSET", key: hour, "p:bad", "1:2")
        await #expect(throws: QueryError.self) { _ = try await query.paths(agent: "pth", start: H * 1000, end: end, depth: 2, limit: 10) }
    }

    @Test func fieldForms() {
        var c = StoredPathCounts()
        for (field, value) in [("p:a\u{1F}b", "7:5:-2"), ("s:a\u{1F}b", "3"), ("e:a\u{1F}b", "1"), ("x:a\u{1F}b", "4")] {
            let added = c.add(field: Array(field.utf8), value: Array(value.utf8))
            #expect(added, "\(field) = \(value)")
        }
        #expect(c.counts.count == 1)
        let ab = c.counts["a\u{1F}b"]
        #expect(ab?.sessions == 10 && ab?.ended == 6 && ab?.escalated == 2)
        for (field, value) in [("p:a", "1:2"), ("p:a", "1:2:3:4"), ("p:a", "1::3"), ("s:a", "1:0:0"), ("q:a", "1"), ("p", "1:1:1"),
                               ("pxa", "1:1:1"), ("s:a", "one")] {
            let added = c.add(field: Array(field.utf8), value: Array(value.utf8))
            #expect(!added, "\(field) = \(value)")
        }
        #expect(c.counts.count == 1 && c.counts["a\u{1F}b"]?.sessions == 10)
    }
}
