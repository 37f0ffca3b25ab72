import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

@Suite("Tracker against a real redis-server")
struct TrackerTests {
    let server: TestRedisServer
    let client: RedisClient

    init() throws {
        server = try TestRedisServer(extraArguments: ["--appendonly", "yes", "--appendfsync", "always"])
        client = RedisClient(configuration: server.configuration(commandTimeout: 2), poolSize: 4)
    }

    func event(_ id: String, agent: String = "bot", session: String, type: EventType = .userMessage) -> AnalyticsEvent {
        AnalyticsEvent(eventID: id, eventType: type, timestampMs: EventClock.nowMs() - 1000, sessionID: session, agentID: agent)
    }

    func dayBucket(_ agent: String, _ field: String) async throws -> Int {
        let day = Int(Date().timeIntervalSince1970 - 1) / 86400 * 86400
        return try await StorageInspector(client: client).counters(agent, "c:d:\(day)")[field] ?? 0
    }

    @Test func eightConcurrentTrackersGiveExactTotals() async throws {
        let perTracker = 10_000
        try await withThrowingTaskGroup(of: TrackerStats.self) { group in
            for t in 0..<8 {
                group.addTask {
                    let tracker = try Tracker(client: client)
                    for i in 0..<perTracker {
                        // Every 10th event is a conversation_start of a new session; half the events
                        // re-send an id that tracker t-1 also sends, so dedupe is exercised across trackers.
                        let id = i % 2 == 0 ? "shared-\(i)-\((t + 7) % 8 / 2)" : "t\(t)-\(i)"
                        try await tracker.track(event(id, session: "s\(t)-\(i / 10)"))
                    }
                    await tracker.shutdown()
                    return await tracker.statistics
                }
            }
            var accepted = 0, duplicates = 0
            for try await s in group {
                #expect(s.pending == 0 && s.failed == 0 && s.dropped == 0)
                #expect(s.tracked == perTracker)
                accepted += s.accepted
                duplicates += s.duplicates
            }
            // Odd i: 8 × 5000 unique ids. Even i: ids shared by pairs of trackers → 4 × 5000 unique.
            #expect(accepted == 8 * 5000 + 4 * 5000)
            #expect(duplicates == 4 * 5000)
        }
        #expect(try await dayBucket("bot", "events") == 60_000)
        #expect(try await dayBucket("bot", "ev:user_message") == 60_000)
        #expect(try await client.send("XLEN", key: "ins:{bot}:stream").int == 60_000)
        // Sessions s<t>-<k>: 8 trackers × 1000 sessions; all events belong to one of them.
        #expect(try await dayBucket("bot", "conversations") == 8000)
    }

    @Test func sameBatchTwiceCountsOnce() async throws {
        let events = (0..<250).map { event("dup-\($0)", session: "d\($0 % 5)") }
        for _ in 0..<2 {
            let tracker = try Tracker(client: client)
            for e in events { try await tracker.track(e) }
            await tracker.shutdown()
        }
        #expect(try await dayBucket("bot", "events") == 250)
        #expect(try await dayBucket("bot", "conversations") == 5)
    }

    @Test func invalidEventsAreRefusedAtTrack() async throws {
        let tracker = try Tracker(client: client)
        var bad = event("x{1}", session: "s")
        await #expect(throws: EventValidationError.self) { try await tracker.track(bad) }
        bad = event("ok", session: "s")
        bad.confidence = 2
        await #expect(throws: EventValidationError.self) { try await tracker.track(bad) }
        bad = event("ok", session: "s")
        bad.agentID = nil  // no default agent configured
        await #expect(throws: EventValidationError.self) { try await tracker.track(bad) }
        await tracker.shutdown()
        #expect(await tracker.statistics.tracked == 0)
        #expect(try await client.send("DBSIZE").int == 0)
        await #expect(throws: TrackerError.shutDown) { try await tracker.track(event("late", session: "s")) }
    }

    @Test func flushIntervalDeliversAPartialBatch() async throws {
        var config = TrackerConfiguration(defaultAgentID: "timed")
        config.flushInterval = 0.1
        let tracker = try Tracker(client: client, configuration: config)
        var e = event("one", session: "s")
        e.agentID = nil
        try await tracker.track(e)
        var seen = 0
        for _ in 0..<50 where seen == 0 {
            try await Task.sleep(for: .milliseconds(50))
            seen = try await dayBucket("timed", "events")
        }
        #expect(seen == 1)
        await tracker.shutdown()
    }

    @Test func dropPolicyReportsEveryDroppedEvent() async throws {
        server.stop()  // nothing can be delivered
        var config = TrackerConfiguration()
        config.capacity = 10
        config.overflow = .drop
        let tracker = try Tracker(client: client, configuration: config)
        var buffered = 0
        for i in 0..<25 where try await tracker.track(event("drop-\(i)", session: "s")) { buffered += 1 }
        let stats = await tracker.statistics
        #expect(buffered == 10)
        #expect(stats.dropped == 15 && stats.pending == 10)
        try server.start()  // AOF: restarts with what it had (nothing)
        await tracker.shutdown()
        #expect(await tracker.statistics.accepted == 10)
        #expect(try await dayBucket("bot", "events") == 10)
    }

    /// Redis stays down: `shutdown(timeout:)` returns anyway and counts what it gave up, where
    /// `shutdown()` would retry for ever. What was delivered before stays counted once.
    @Test func shutdownWithTimeoutGivesUpAndCounts() async throws {
        var config = TrackerConfiguration()
        config.retryInitialDelay = 0.05
        config.retryMaxDelay = 0.2
        let tracker = try Tracker(client: client, configuration: config)
        for i in 0..<5 { try await tracker.track(event("early-\(i)", session: "t")) }
        await tracker.flush()
        server.stop()
        for i in 0..<12 { try await tracker.track(event("late-\(i)", session: "t")) }
        let givenUp = await tracker.shutdown(timeout: .milliseconds(500))
        let stats = await tracker.statistics
        #expect(givenUp == 12)
        #expect(stats.abandoned == 12 && stats.accepted == 5 && stats.pending == 0 && stats.retries > 0)
        await #expect(throws: TrackerError.shutDown) { try await tracker.track(event("after", session: "t")) }
        try server.start()  // AOF: what was delivered is still there, once
        #expect(try await dayBucket("bot", "events") == 5)
    }

    @Test func keepsEventsAcrossARedisRestart() async throws {
        var config = TrackerConfiguration()
        config.retryMaxDelay = 0.2
        let tracker = try Tracker(client: client, configuration: config)
        for i in 0..<500 { try await tracker.track(event("a-\(i)", session: "r\(i % 7)")) }
        await tracker.flush()
        server.stop(kill: true)
        for i in 500..<1000 { try await tracker.track(event("a-\(i)", session: "r\(i % 7)")) }
        try await Task.sleep(for: .milliseconds(300))  // the flusher fails and retries meanwhile
        try server.start()  // AOF with appendfsync always: the first 500 are still there
        await tracker.shutdown()
        let stats = await tracker.statistics
        #expect(stats.retries > 0)
        #expect(stats.accepted + stats.duplicates == 1000)
        #expect(try await dayBucket("bot", "events") == 1000)
        #expect(try await dayBucket("bot", "conversations") == 7)
    }
}
