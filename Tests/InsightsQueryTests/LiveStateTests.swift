import Foundation
import InsightsModel
@testable import InsightsQuery
import InsightsTestSupport
import InsightsTracker
import InsightsWorker
import RedisClient
import Testing

/// The live state of one agent, from the sets ingest keeps, on a private redis-server. N is now;
/// every expected value is worked out in the comments.
@Suite("Live state")
struct LiveStateTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    let query: MetricsQuery
    let N: Int64

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
        query = MetricsQuery(client: client)
        N = EventClock.nowMs()
    }

    func ev(_ id: String, _ ago: Int64, _ type: EventType, _ session: String) -> AnalyticsEvent {
        AnalyticsEvent(eventID: id, eventType: type, timestampMs: N - ago * 1000, sessionID: session, agentID: "live",
                       data: type == .intentClassified ? ["intent": .string("billing")] : [:])
    }

    // a: user −40 s, bot −38 s: answered, active.     b: user −50 s, intent −49 s: waiting 50 s (stuck).
    // c: bot −100 s, user −10 s: waiting 10 s.         d: user −70 s, end −60 s: ended (neither).
    // e: user −400 s only: waiting 400 s (stuck), not active (> 5 min).
    // f: bot −15 s sent before user −20 s: answered.   g: user −35 s, then (next batch) bot −30 s: answered.
    // Active: a b c f g = 5. Waiting: b c e = 3, oldest 400 s. Stuck (> 30 s): e, b.
    var first: [AnalyticsEvent] {
        [ev("a1", 40, .userMessage, "a"), ev("a2", 38, .botResponse, "a"), ev("b1", 50, .userMessage, "b"),
         ev("b2", 49, .intentClassified, "b"), ev("c1", 100, .botResponse, "c"), ev("c2", 10, .userMessage, "c"),
         ev("d1", 70, .userMessage, "d"), ev("d2", 60, .conversationEnd, "d"), ev("e1", 400, .userMessage, "e"),
         ev("f2", 15, .botResponse, "f"), ev("g1", 35, .userMessage, "g")].shuffled()
    }
    var second: [AnalyticsEvent] { [ev("f1", 20, .userMessage, "f"), ev("g2", 30, .botResponse, "g"), ev("b1", 50, .userMessage, "b")] }

    @Test func activeWaitingAndStuck() async throws {
        #expect(try await ingestor.ingest(first).accepted == 11)
        let r = try await ingestor.ingest(second)
        #expect(r.accepted == 2 && r.duplicates == 1)
        let live = try await query.live(agent: "live", now: N)
        #expect(live.activeConversations == 5 && live.waitingForBot == 3 && live.oldestWaitMs == 400_000)
        #expect(live.stuckSessions == [StuckSession(sessionID: "e", waitingMs: 400_000, lastEventType: "user_message"),
                                       StuckSession(sessionID: "b", waitingMs: 50_000, lastEventType: "intent_classified")])
        #expect(live.stuckCount == 2 && live.activeWindowS == 300 && live.stuckAfterS == 30)
        // Events by minute, from the same list.
        let minute = N / 60_000 * 60_000
        let all = first + second.dropLast()
        #expect(live.eventsThisMinute == all.filter { $0.timestampMs >= minute }.count)
        #expect(live.eventsLastMinute == all.filter { $0.timestampMs >= minute - 60_000 && $0.timestampMs < minute }.count)
        // Other windows: active over 45 s is a, c, f, g (b's latest −49 s); stuck after 60 s is e only.
        let narrow = try await query.live(agent: "live", now: N, activeWindowMs: 45_000, stuckAfterMs: 60_000)
        #expect(narrow.activeConversations == 4 && narrow.stuckSessions.map(\.sessionID) == ["e"] && narrow.stuckCount == 1)
        #expect(try await query.live(agent: "nobody", now: N).oldestWaitMs == nil)
    }

    /// Finalizing takes sessions out: the worker finalizes d (ended) and, swept with a 300 s
    /// timeout against the watermark (−10 s), e (idle 390 s): waiting b, c; stuck b.
    @Test func finalizedSessionsLeave() async throws {
        _ = try await ingestor.ingest(first)
        _ = try await ingestor.ingest(second)
        let worker = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "l1", sessionTimeoutMs: 300_000, wallClockGraceMs: 0, claimInterval: .zero,
            agentRefreshInterval: .zero, trimInterval: .seconds(3600)))
        var rounds = 0
        repeat {
            _ = try await worker.processOnce()
            rounds += 1
        } while try await worker.lag().total.total > 0 && rounds < 100
        _ = try await worker.sweep("live")
        let live = try await query.live(agent: "live", now: N)
        #expect(live.waitingForBot == 2 && live.oldestWaitMs == 50_000 && live.stuckSessions.map(\.sessionID) == ["b"])
        #expect(live.activeConversations == 5)
        #expect(try await client.send("ZSCORE", key: AgentKeys("live").active, "d").isNull)
        #expect(try await client.send("ZSCORE", key: AgentKeys("live").active, "e").isNull)
        // A late user_message to the finalized d does not make it wait.
        _ = try await ingestor.ingest([ev("d3", 5, .userMessage, "d")])
        #expect(try await query.live(agent: "live", now: N).waitingForBot == 2)
    }
}
