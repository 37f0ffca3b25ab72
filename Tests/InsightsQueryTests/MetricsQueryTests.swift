import Foundation
import InsightsModel
@testable import InsightsQuery
import InsightsTestSupport
import InsightsTracker
import InsightsWorker
import RedisClient
import Testing

/// Every query against a private redis-server fed through the real ingest script and worker,
/// expected values computed by hand (see the comments on `current` and `previous`).
@Suite("MetricsQuery")
struct MetricsQueryTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    let query: MetricsQuery
    let nowMs: Int64
    /// H = start of the hour three hours ago (s); B = H + 10 min (ms); P = B − 30 h (previous period).
    let H: Int64
    let B: Int64
    let P: Int64

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
        query = MetricsQuery(client: client)
        nowMs = EventClock.nowMs()
        H = (nowMs / 1000 / 3600 - 3) * 3600
        B = (H + 600) * 1000
        P = B - 30 * 3_600_000
    }

    func ev(_ id: String, _ ts: Int64, _ type: EventType, _ session: String, agent: String = "acme", rt: Int? = nil,
            conf: Double? = nil, intent: String? = nil, escalated: Bool = false) -> AnalyticsEvent {
        var data: [String: JSONValue] = [:]
        if let intent { data["intent"] = .string(intent) }
        if escalated { data["escalated_to_human"] = .bool(true) }
        return AnalyticsEvent(eventID: id, eventType: type, timestampMs: ts, sessionID: session, agentID: agent, data: data,
                              responseTimeMs: rt, confidence: conf)
    }

    // s1 (minute B): 10 events, ended, escalated; intents book_flight 0.9 + fallback 0.5; rt 100, 300;
    // one workflow started and completed. s2 (minute B+60 s): 5 events, dropped at `cancel`;
    // intent cancel 0.8, rt 50, one workflow started.
    var current: [AnalyticsEvent] {
        let b2 = B + 60_000
        return [
            ev("a1", B, .conversationStart, "s1"),
            ev("a2", B + 1000, .userMessage, "s1"),
            ev("a3", B + 2000, .intentClassified, "s1", conf: 0.9, intent: "book_flight"),
            ev("a4", B + 3000, .botResponse, "s1", rt: 100),
            ev("a5", B + 4000, .workflowStarted, "s1"),
            ev("a6", B + 5000, .workflowCompleted, "s1"),
            ev("a7", B + 6000, .userMessage, "s1"),
            ev("a8", B + 7000, .intentClassified, "s1", conf: 0.5, intent: "fallback"),
            ev("a9", B + 8000, .botResponse, "s1", rt: 300, escalated: true),
            ev("a10", B + 9000, .conversationEnd, "s1"),
            ev("b1", b2, .conversationStart, "s2"),
            ev("b2", b2 + 1000, .userMessage, "s2"),
            ev("b3", b2 + 2000, .intentClassified, "s2", conf: 0.8, intent: "cancel"),
            ev("b4", b2 + 3000, .botResponse, "s2", rt: 50),
            ev("b5", b2 + 4000, .workflowStarted, "s2"),
        ]
    }

    // s0 (30 h before B): ended, automated, 2 messages, rt 200.
    var previous: [AnalyticsEvent] {
        [
            ev("p1", P, .conversationStart, "s0"),
            ev("p2", P + 1000, .userMessage, "s0"),
            ev("p3", P + 2000, .botResponse, "s0", rt: 200),
            ev("p4", P + 3000, .conversationEnd, "s0"),
        ]
    }

    /// Ingests (in a shuffled order), then runs a worker until the streams are drained and sweeps.
    func load() async throws {
        let events = current + previous + [ev("o1", B, .userMessage, "x1", agent: "other")]
        let order = events.indices.sorted { ($0 * 7) % events.count < ($1 * 7) % events.count }
        #expect(try await ingestor.ingest(order.map { events[$0] }).accepted == events.count)
        let worker = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "q1", sessionTimeoutMs: 1000, wallClockGraceMs: 0, claimInterval: .zero,
            agentRefreshInterval: .zero, trimInterval: .seconds(3600)))
        var rounds = 0
        repeat {
            _ = try await worker.processOnce()
            rounds += 1
        } while try await worker.lag().total.total > 0 && rounds < 100
        for agent in ["acme", "other"] { _ = try await worker.sweep(agent) }
    }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

    var hourStart: Int64 { H * 1000 }
    var hourEnd: Int64 { (H + 3600) * 1000 }

    @Test func conversationMetrics() async throws {
        try await load()
        let m = try await query.conversationMetrics(agent: "acme", start: hourStart, end: hourEnd, now: nowMs)
        #expect(m.totalConversations == 2)
        #expect(m.totalMessages == 6)  // a2 a4 a7 a9 b2 b4
        #expect(m.totalEvents == 15)
        #expect(m.avgConversationLength == 3)  // (4 + 2) / 2
        #expect(m.completionRate == 50)  // 1 / 2
        #expect(m.avgResponseTimeMs == 150)  // 450 / 3
        // Bins: 50 → 22, 100 → 26, 300 → 32. Ranks: p50 = 2nd, p95 = p99 = 3rd.
        #expect(close(m.p50ResponseTimeMs, pow(2, 26.5 / 4)))
        #expect(close(m.p95ResponseTimeMs, pow(2, 32.5 / 4)))
        #expect(close(m.p99ResponseTimeMs, pow(2, 32.5 / 4)))
        #expect(m.resolution == .minute)
        #expect(m.effectiveStart == ISO8601.format(ms: hourStart))
        // The last 24 h hold the same; the last 48 h add s0.
        let day = try await query.conversationMetrics(agent: "acme", start: nowMs - 86_400_000, end: nowMs, now: nowMs)
        #expect(day.totalConversations == 2 && day.totalEvents == 15 && day.totalMessages == 6)
        let two = try await query.conversationMetrics(agent: "acme", start: nowMs - 2 * 86_400_000, end: nowMs, now: nowMs)
        #expect(two.totalConversations == 3 && two.totalEvents == 19 && two.totalMessages == 8)
        #expect(close(two.avgConversationLength, 8.0 / 3) && two.avgResponseTimeMs == 162.5)
        // An empty window: zeros, not NaN.
        let empty = try await query.conversationMetrics(agent: "acme", start: hourEnd, end: hourEnd + 60_000, now: nowMs)
        #expect(empty.totalConversations == 0 && empty.avgConversationLength == 0 && empty.completionRate == 0
            && empty.avgResponseTimeMs == 0 && empty.p50ResponseTimeMs == 0)
        // JSON field names.
        let json = String(decoding: try JSONEncoder().encode(m), as: UTF8.self)
        for k in ["total_conversations", "avg_conversation_length", "completion_rate", "avg_response_time_ms", "total_messages",
                  "total_events", "p50_response_time_ms", "p95_response_time_ms", "p99_response_time_ms", "resolution",
                  "effective_start", "effective_end"] {
            #expect(json.contains("\"\(k)\""))
        }
    }

    @Test func nluMetrics() async throws {
        try await load()
        let n = try await query.nluMetrics(agent: "acme", start: hourStart, end: hourEnd, now: nowMs)
        #expect(n.intentDistribution == ["book_flight": 1, "fallback": 1, "cancel": 1])
        #expect(close(n.avgConfidence, 2.2 / 3))
        #expect(close(n.lowConfidenceRate, 100.0 / 3))  // 0.5 only
        #expect(close(n.fallbackRate, 100.0 / 3))
        #expect(n.totalClassifications == 3)
        let json = String(decoding: try JSONEncoder().encode(n), as: UTF8.self)
        for k in ["intent_distribution", "avg_confidence", "low_confidence_rate", "fallback_rate", "total_classifications"] {
            #expect(json.contains("\"\(k)\""))
        }
    }

    @Test func dropOffAutomationAndCost() async throws {
        try await load()
        let d = try await query.dropOff(agent: "acme", start: hourStart, end: hourEnd, now: nowMs)
        #expect(d.dropOffPoints == ["cancel": 1] && d.totalIncompleteSessions == 1)
        let a = try await query.automationRate(agent: "acme", start: hourStart, end: hourEnd, now: nowMs)
        #expect(a.automationRate == 50)  // s2 automated, s1 escalated
        let c = try await query.costSavings(agent: "acme", start: hourStart, end: hourEnd, now: nowMs)
        #expect(c.totalConversations == 2 && c.automatedConversations == 1 && c.automationRate == 50)
        #expect(c.costSavings == 5 && c.costPerInteraction == 5)
        let c2 = try await query.costSavings(agent: "acme", start: nowMs - 2 * 86_400_000, end: nowMs, costPerInteraction: 2.5, now: nowMs)
        #expect(c2.totalConversations == 3 && c2.automatedConversations == 2 && c2.costSavings == 5)
        #expect(close(c2.automationRate, 200.0 / 3))
        let none = try await query.automationRate(agent: "nobody", start: hourStart, end: hourEnd, now: nowMs)
        #expect(none.automationRate == 0)
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        for k in ["total_conversations", "automated_conversations", "automation_rate", "cost_savings", "cost_per_interaction"] {
            #expect(json.contains("\"\(k)\""))
        }
    }

    @Test func overviewAndChanges() async throws {
        try await load()
        let o = try await query.overview(agent: "acme", timeframe: "24h", now: nowMs)
        #expect(o.timeframe == "24h")
        #expect(o.conversationMetrics.totalConversations == 2 && o.nluMetrics.totalClassifications == 3)
        #expect(o.automationRate == 50)
        // Previous 24 h: s0 only (1 conversation, 2 messages, 4 events, length 2, rt 200, automation 100).
        #expect(o.changes["total_conversations"] == .some(100))
        #expect(o.changes["total_messages"] == .some(200))
        #expect(o.changes["total_events"] == .some(275))
        #expect(o.changes["avg_conversation_length"] == .some(50))
        #expect(o.changes["avg_response_time_ms"] == .some(-25))
        #expect(o.changes["automation_rate"] == .some(-50))
        for k in ["completion_rate", "avg_confidence", "low_confidence_rate", "fallback_rate", "total_classifications"] {
            #expect(o.changes[k] == .some(nil), "\(k)")
        }
        #expect(o.changes.count == MetricsQuery.headlineMetrics.count)
        let json = String(decoding: try JSONEncoder().encode(o), as: UTF8.self)
        #expect(json.contains("\"completion_rate\":null"))
        #expect(json.contains("\"conversation_metrics\"") && json.contains("\"nlu_metrics\""))
        await #expect(throws: QueryError.unknownTimeframe("1y")) { try await query.overview(agent: "acme", timeframe: "1y", now: nowMs) }
        let week = try await query.overview(agent: "acme", timeframe: "7d", now: nowMs)
        #expect(week.conversationMetrics.totalConversations == 3)
        #expect(week.changes["total_conversations"] == .some(nil))
    }

    /// The dashboard's additions: cost savings of the current period and the changes of p95 and savings.
    @Test func overviewCostSavingsAndP95Change() async throws {
        try await load()
        let o = try await query.overview(agent: "acme", timeframe: "24h", costPerInteraction: 2.5, now: nowMs)
        // Current: s1 (ended, escalated) and s2 (dropped, automated); previous: s0 (automated).
        #expect(o.costSavings.totalConversations == 2 && o.costSavings.automatedConversations == 1)
        #expect(o.costSavings.costSavings == 2.5 && o.costSavings.costPerInteraction == 2.5)
        #expect(o.costSavings.automationRate == 50)
        #expect(o.changes["cost_savings"] == .some(0))  // 1 × 2.5 against 1 × 2.5
        // p95: bin 32 (300 ms) now against bin 30 (200 ms) before: 2^(2/4) − 1.
        let p95 = try #require(o.changes["p95_response_time_ms"] ?? nil)
        #expect(close(p95, (pow(2, 0.5) - 1) * 100))
        #expect(close(o.conversationMetrics.p95ResponseTimeMs, pow(2, 32.5 / 4)))
        let free = try await query.overview(agent: "acme", timeframe: "24h", costPerInteraction: 0, now: nowMs)
        #expect(free.costSavings.costSavings == 0 && free.changes["cost_savings"] == .some(nil))
        let json = String(decoding: try JSONEncoder().encode(o), as: UTF8.self)
        #expect(json.contains("\"cost_savings\":{") && json.contains("\"automated_conversations\":1"))
    }

    @Test func timeseries() async throws {
        try await load()
        let t = try await query.timeseries(agent: "acme", start: B, end: B + 120_000, interval: .minute)
        #expect(t.interval == .minute)
        #expect(t.points == [
            TimeseriesPoint(date: ISO8601.format(ms: B), conversations: 1, messages: 4, events: 10, avgResponseTimeMs: 200,
                            intents: 2, fallbacks: 1, escalations: 1, workflowsStarted: 1, workflowsCompleted: 1),
            TimeseriesPoint(date: ISO8601.format(ms: B + 60_000), conversations: 1, messages: 2, events: 5, avgResponseTimeMs: 50,
                            intents: 1, fallbacks: 0, escalations: 0, workflowsStarted: 1, workflowsCompleted: 0),
        ])
        let hours = try await query.timeseries(agent: "acme", start: hourStart, end: hourStart + 2 * 3_600_000, interval: .hour)
        #expect(hours.points.map(\.events) == [15, 0] && hours.points.map(\.conversations) == [2, 0])
        #expect(hours.points[1].date == ISO8601.format(ms: hourStart + 3_600_000))
        await #expect(throws: QueryError.tooManyPoints(4320, max: 2000)) {
            try await query.timeseries(agent: "acme", start: hourStart, end: hourStart + 3 * 86_400_000, interval: .minute)
        }
    }

    @Test func journeyAndAgents() async throws {
        try await load()
        #expect(try await query.agents() == ["acme", "other"])
        let j = try #require(try await query.journey(sessionID: "s1"))
        #expect(j.agentID == "acme" && j.sessionID == "s1")
        #expect(j.journey.map(\.eventID) == ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"])
        #expect(j.journey.map(\.type) == ["conversation_start", "user_message", "intent_classified", "bot_response",
                                          "workflow_started", "workflow_completed", "user_message", "intent_classified",
                                          "bot_response", "conversation_end"])
        #expect(j.journey[0].timestamp == ISO8601.format(ms: B))
        #expect(j.journey[2].intent == "book_flight" && j.journey[2].data == ["intent": "book_flight"])
        #expect(j.journey[8].responseTimeMs == 300 && j.journey[8].data == ["escalated_to_human": true])
        let other = try #require(try await query.journey(sessionID: "x1"))
        #expect(other.agentID == "other" && other.journey.count == 1)
        #expect(try await query.journey(sessionID: "s1", agent: "acme")?.journey.count == 10)
        #expect(try await query.journey(sessionID: "s1", agent: "other") == nil)
        #expect(try await query.journey(sessionID: "nope") == nil)
    }

    @Test func noAgentsNoJourney() async throws {
        #expect(try await query.agents() == [])
        #expect(try await query.journey(sessionID: "s1") == nil)
    }

    @Test func readingIsOnePipeline() async throws {
        try await load()
        // The sums of a plan equal the sums of its buckets read one by one.
        let (plan, sums) = try await query.sums(agent: "acme", startMs: nowMs - 2 * 86_400_000, endMs: nowMs, nowMs: nowMs)
        var manual = BucketSums()
        for b in plan.buckets {
            manual.add(try await StorageInspector(client: client).counters("acme", b.keySuffix))
        }
        #expect(sums == manual && sums.events == 19)
    }
}
