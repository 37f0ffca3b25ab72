import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
@testable import InsightsWorker
import RedisClient
import Testing

/// The worker group against a private redis-server, every value computed by hand.
@Suite("InsightsWorker")
struct WorkerTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    /// H = start of the hour two hours ago (s); B = H + 10 min (ms).
    let H: Int64
    let B: Int64
    let stream = "ins:{acme}:stream"

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 8)
        ingestor = try EventIngestor(client: client)
        let now = Int64(Date().timeIntervalSince1970)
        H = (now / 3600 - 2) * 3600
        B = (H + 600) * 1000
    }

    func ev(_ id: String, _ ts: Int64, _ type: EventType, _ session: String, intent: String? = nil, escalated: Bool = false) -> AnalyticsEvent {
        var data: [String: JSONValue] = [:]
        if let intent { data["intent"] = .string(intent) }
        if escalated { data["escalated_to_human"] = .bool(true) }
        return AnalyticsEvent(eventID: id, eventType: type, timestampMs: ts, sessionID: session, agentID: "acme", data: data)
    }

    /// A worker for the hand-computed scenarios: pure event time unless `grace` is given (the scenarios
    /// were computed for it; the server clock's part is tested on its own below).
    func worker(_ name: String, batch: Int = 200, claimIdleMs: Int = 3_600_000, maxDeliveries: Int = 5, timeoutMs: Int64 = 1_800_000,
                grace: Int64? = nil) throws -> Worker {
        try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: name, batchSize: batch, sessionTimeoutMs: timeoutMs, wallClockGraceMs: grace, claimIdleMs: claimIdleMs,
            claimInterval: .zero, maxDeliveries: maxDeliveries, agentRefreshInterval: .zero, trimInterval: .seconds(3600),
            sweepInterval: .zero))
    }

    /// Runs workers concurrently, each calling processOnce until nothing is undelivered or pending.
    /// Returns the entries each worker acknowledged.
    @discardableResult
    func drain(_ workers: [Worker], maxRounds: Int = 200) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for w in workers {
                group.addTask {
                    var handled = 0
                    for _ in 0..<maxRounds {
                        handled += try await w.processOnce()
                        if try await w.lag().total.total == 0 { return handled }
                    }
                    Issue.record("workers did not drain the streams in \(maxRounds) rounds")
                    return handled
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    var inspect: StorageInspector { StorageInspector(client: client) }

    /// Outcome fields (out:*, drop:*) of a bucket, zero fields left out (a corrected counter can rest at 0).
    func outcome(_ key: String) async throws -> [String: Int] {
        try await inspect.counters("acme", key).filter { ($0.key.hasPrefix("out:") || $0.key.hasPrefix("drop:")) && $0.value != 0 }
    }

    func journey(_ session: String) async throws -> [String] {
        try await inspect.journey("acme", session)
    }

    func session(_ sid: String) async throws -> [String: String] {
        try await inspect.session("acme", sid)
    }

    /// Writes an event into the stream again, as ingest wrote it (a copy, as after a re-send).
    func copyIntoStream(_ e: AnalyticsEvent) async throws {
        var c = RedisCommand("XADD", key: stream, "*", "s", e.sessionID, "r")
        c.append(bytes: JourneyRecord(event: e).encoded())
        try await client.send(c)
    }

    // s1: ended, escalated, 2 turns (minute B). s2: dropped at "cancel", 2 turns (B+60 s).
    // s3: dropped, unknown, 1 turn (B+120 s). s4: ended, 1 turn, an hour later; it moves wm past the timeout.
    var sessions: [AnalyticsEvent] {
        let s2 = B + 60_000, s3 = B + 120_000, s4 = B + 3_700_000
        return [
            ev("a1", B, .conversationStart, "s1"),
            ev("a2", B + 1000, .userMessage, "s1"),
            ev("a3", B + 2000, .intentClassified, "s1", intent: "billing"),
            ev("a4", B + 3000, .botResponse, "s1", escalated: true),
            ev("a5", B + 4000, .userMessage, "s1"),
            ev("a6", B + 5000, .conversationEnd, "s1"),
            ev("b1", s2, .conversationStart, "s2"),
            ev("b2", s2 + 1000, .userMessage, "s2"),
            ev("b3", s2 + 2000, .intentClassified, "s2", intent: "book_flight"),
            ev("b4", s2 + 4000, .intentClassified, "s2", intent: "cancel"),
            ev("b5", s2 + 5000, .userMessage, "s2"),
            ev("c1", s3, .userMessage, "s3"),
            ev("c2", s3 + 1000, .botResponse, "s3"),
            ev("d1", s4, .conversationStart, "s4"),
            ev("d2", s4 + 1000, .userMessage, "s4"),
            ev("d3", s4 + 2000, .conversationEnd, "s4"),
        ]
    }

    @Test func threeWorkersOutOfOrderAndTwice() async throws {
        // A fixed shuffle: arrival order differs from event time order.
        let order = [15, 3, 9, 0, 12, 7, 1, 14, 5, 10, 2, 13, 8, 4, 11, 6]
        let shuffled = order.map { sessions[$0] }
        for chunk in stride(from: 0, to: 16, by: 4) {
            #expect(try await ingestor.ingest(Array(shuffled[chunk..<chunk + 4])).accepted == 4)
        }
        #expect(try await ingestor.ingest(shuffled).duplicates == 16)
        // The same events again in the stream (as after the ingest dedupe window): applied once.
        for id in ["a2", "b4", "d3"] {
            try await copyIntoStream(sessions.first { $0.eventID == id }!)
        }
        let workers = try (1...3).map { try worker("w\($0)", batch: 2) }
        let handled = try await drain(workers)
        #expect(handled.reduce(0, +) == 19)  // 16 events + 3 copies, each acknowledged by exactly one worker
        for w in workers { _ = try await w.sweep("acme") }

        #expect(try await journey("s1") == ["a1", "a2", "a3", "a4", "a5", "a6"])
        #expect(try await journey("s2") == ["b1", "b2", "b3", "b4", "b5"])
        #expect(try await journey("s3") == ["c1", "c2"])
        #expect(try await journey("s4") == ["d1", "d2", "d3"])

        let m = { (t: Int64) in "c:m:\(t / 60_000 * 60)" }
        #expect(try await outcome(m(B)) == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
        #expect(try await outcome(m(B + 60_000)) == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 2])
        #expect(try await outcome(m(B + 120_000)) == ["out:sessions": 1, "out:dropped": 1, "drop:unknown": 1, "out:automated": 1, "out:turns": 1])
        #expect(try await outcome(m(B + 3_700_000)) == ["out:sessions": 1, "out:ended": 1, "out:automated": 1, "out:turns": 1])
        #expect(try await outcome("c:h:\(H)") == [
            "out:sessions": 3, "out:ended": 1, "out:dropped": 2, "drop:cancel": 1, "drop:unknown": 1,
            "out:escalated": 1, "out:automated": 2, "out:turns": 5,
        ])
        #expect(try await outcome("c:h:\(H + 3600)") == ["out:sessions": 1, "out:ended": 1, "out:automated": 1, "out:turns": 1])

        let s2 = try await session("s2")
        #expect(s2["first"] == "\(B + 60_000)" && s2["last"] == "\(B + 65_000)" && s2["turns"] == "2")
        #expect(s2["li"] == "cancel" && s2["lit"] == "\(B + 64_000)" && s2["fin"] == "1")
        #expect(try await client.send("GET", key: "ins:{acme}:wm").string == "\(B + 3_702_000)")
        #expect(try await client.send("ZCARD", key: "ins:{acme}:idle").int == 0)
        let keys = AgentKeys("acme")
        let ttls = try await client.pipeline([keys.compactJourney("s1"), keys.finalJourney("s1"), keys.journey("s1")].map { RedisCommand("TTL", $0) })
        #expect(ttls.compactMap(\.int).max() ?? 0 > 35 * 86400 - 100)
        #expect(try await workers[0].lag() == LagReport(perAgent: ["acme": StreamLag()], total: StreamLag()))
    }

    @Test func twoWorkersSweepingAtOnceFinalizeEachSessionOnce() async throws {
        let events = (0..<250).map { ev("i\($0)", B + Int64($0) * 1000, .userMessage, "idle\($0)") }
            + [ev("late", B + 3_000_000, .userMessage, "late")]
        _ = try await ingestor.ingest(events)
        // Apply without sweeping anything (huge timeout), then sweep with two workers at once.
        try await drain([try worker("apply", timeoutMs: 1 << 45)])
        #expect(try await client.send("ZCARD", key: "ins:{acme}:idle").int == 251)
        let a = try worker("a"), b = try worker("b")
        async let na = a.sweep("acme")
        async let nb = b.sweep("acme")
        #expect(try await na + nb == 250)
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 250, "out:dropped": 250, "drop:unknown": 250, "out:automated": 250, "out:turns": 250])
        #expect(try await client.send("ZRANGE", key: "ins:{acme}:idle", "0", "-1").array?.compactMap(\.string) == ["late"])
    }

    @Test func entriesOfADeadConsumerAreClaimedAndCountedOnce() async throws {
        _ = try await ingestor.ingest(Array(sessions.prefix(6)))  // s1
        try await client.send("XGROUP", "CREATE", key: stream, "workers", "0", "MKSTREAM")
        // "dead" reads three entries and never acknowledges them; "restarted" reads two and restarts.
        let dead = try await client.send("XREADGROUP", "GROUP", "workers", "dead", "COUNT", "3", "STREAMS", stream, ">")
        #expect(dead.array?.first?.array?[1].array?.count == 3)
        _ = try await client.send("XREADGROUP", "GROUP", "workers", "restarted", "COUNT", "2", "STREAMS", stream, ">")
        // The restarted consumer (same name) drains its own pending entries first, without waiting for claimIdle.
        let restarted = try worker("restarted")
        #expect(try await restarted.processOnce() == 3)  // its own 2 + the 1 never delivered
        #expect(try await restarted.lag().total == StreamLag(lag: 0, pending: 3))
        try await drain([try worker("rescuer", claimIdleMs: 0)])
        #expect(try await journey("s1") == ["a1", "a2", "a3", "a4", "a5", "a6"])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
        #expect(try await session("s1")["turns"] == "2")
    }

    @Test func aPoisonEntryIsDeadLetteredAndTheRestIsExact() async throws {
        _ = try await ingestor.ingest(Array(sessions.prefix(3)))
        let garbage = try await client.send("XADD", key: stream, "*", "j", "{not json").string!
        let noJ = try await client.send("XADD", key: stream, "*", "x", "1").string!
        _ = try await ingestor.ingest(Array(sessions[3..<6]))
        try await drain([try worker("w1", claimIdleMs: 0, maxDeliveries: 3), try worker("w2", claimIdleMs: 0, maxDeliveries: 3)])
        let dl = try await client.send("XRANGE", key: "ins:{acme}:deadletter", "-", "+").array ?? []
        #expect(dl.count == 2)
        let letters = dl.compactMap { $0.array?[1].array?.compactMap(\.string) }
        #expect(Set(letters.map { $0[1] }) == [garbage, noJ])
        #expect(letters.allSatisfy { $0[0] == "id" && $0[2] == "reason" && $0[4] == "j" && $0[3].contains("delivered 3 times") })
        #expect(letters.first { $0[1] == garbage }?[5] == "{not json")
        #expect(try await journey("s1") == ["a1", "a2", "a3", "a4", "a5", "a6"])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
        #expect(try await client.send("XPENDING", key: stream, "workers").array?.first?.int == 0)
    }

    @Test func trimNeverRemovesAPendingOrUndeliveredEntry() async throws {
        _ = try await ingestor.ingest(Array(sessions.prefix(10)))
        try await client.send("XGROUP", "CREATE", key: stream, "workers", "0", "MKSTREAM")
        let ids = try await client.send("XRANGE", key: stream, "-", "+").array!.map { $0.array![0].string! }
        _ = try await client.send("XREADGROUP", "GROUP", "workers", "dead", "COUNT", "3", "STREAMS", stream, ">")
        let w = try worker("w")
        _ = try await w.processOnce()  // applies entries 4…10
        #expect(try await w.trim("acme") == 0)  // entry 1 is pending
        #expect(try await client.send("XLEN", key: stream).int == 10)
        try await client.send("XACK", key: stream, "workers", ids[0])
        #expect(try await w.trim("acme") == 1)
        #expect(try await client.send("XRANGE", key: stream, "-", "+", "COUNT", "1").array?.first?.array?[0].string == ids[1])
        _ = try await ingestor.ingest(Array(sessions[10..<16]))  // 6 undelivered entries
        #expect(try await w.lag().perAgent["acme"] == StreamLag(lag: 6, pending: 2))
        try await client.send("XACK", key: stream, "workers", ids[1], ids[2])
        #expect(try await w.trim("acme") == 9)  // entries 2…10
        #expect(try await client.send("XLEN", key: stream).int == 6)
        #expect(try await w.lag().perAgent["acme"] == StreamLag(lag: 6, pending: 0))
        _ = try await w.processOnce()
        #expect(try await w.lag().total == StreamLag())
        #expect(try await w.trim("acme") == 6)
    }

    @Test func lateEventsCorrectAFinalizedSession() async throws {
        let w = try worker("w")
        let ev = sessions
        // s2 without its last two events, then s4 moves wm: s2 is dropped at book_flight with 1 turn.
        _ = try await ingestor.ingest(Array(ev[6..<9]) + Array(ev[13..<16]))
        try await drain([w])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:dropped": 1, "drop:book_flight": 1, "out:automated": 1, "out:turns": 1])
        // The late events move the drop point to cancel and add a turn.
        _ = try await ingestor.ingest(Array(ev[9..<11]))
        try await drain([w])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 2])
        // A late escalation and conversation_end: the session becomes ended and escalated, still counted once.
        _ = try await ingestor.ingest([self.ev("b6", B + 66_000, .botResponse, "s2", escalated: true), self.ev("b7", B + 67_000, .conversationEnd, "s2")])
        try await drain([w])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
        #expect(try await journey("s2") == ["b1", "b2", "b3", "b4", "b5", "b6", "b7"])
    }

    @Test func sweepRunsOncePerSweepInterval() async throws {
        // An interval far longer than the test (however slow the machine): only the first pass sweeps.
        let w = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "w", claimInterval: .zero, agentRefreshInterval: .zero, trimInterval: .seconds(3600), sweepInterval: .seconds(600)))
        _ = try await w.processOnce()  // the first pass sweeps (nothing yet); the next sweep is due in 600 s
        _ = try await ingestor.ingest(Array(sessions[6..<9]) + Array(sessions[13..<16]))
        try await drain([w])
        // s4 moved wm past s2's timeout, but no sweep ran: s2 is still idle, unfinalized.
        #expect(try await outcome("c:h:\(H)") == [:])
        #expect(try await client.send("ZSCORE", "ins:{acme}:idle", "s2").string != nil)
        // A sweep when due (here: another worker's first pass) finalizes it.
        let due = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "w2", claimInterval: .zero, agentRefreshInterval: .zero, trimInterval: .seconds(3600), sweepInterval: .seconds(600)))
        _ = try await due.processOnce()
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:dropped": 1, "drop:book_flight": 1, "out:automated": 1, "out:turns": 1])
        #expect(try await client.send("ZSCORE", "ins:{acme}:idle", "s2").string == nil)
    }

    /// Consumers of stopped workers are forgotten, but never one that still holds pending entries,
    /// nor the caller itself; a young one is kept until it has been idle long enough.
    @Test func goneConsumersArePrunedNeverWithPendingEntries() async throws {
        _ = try await ingestor.ingest(Array(sessions.prefix(6)))
        let stream = "ins:{acme}:stream"
        let w = try worker("live")
        _ = try await w.processOnce()  // creates the group; "live" reads and acks everything
        _ = try await ingestor.ingest(Array(sessions[6..<9]))
        // "crashed" read entries and died before acking them; "gone" joined and read nothing.
        _ = try await client.send("XREADGROUP", "GROUP", "workers", "crashed", "COUNT", "2", "STREAMS", stream, ">")
        _ = try await client.send("XGROUP", "CREATECONSUMER", key: stream, "workers", "gone")
        func consumers() async throws -> Set<String> {
            let list = try await client.send("XINFO", "CONSUMERS", key: stream, "workers").array ?? []
            return Set(list.compactMap { c in
                let f = c.array ?? []
                return stride(from: 0, to: f.count - 1, by: 2).first { f[$0].string == "name" }.flatMap { f[$0 + 1].string }
            })
        }
        #expect(try await consumers() == ["live", "crashed", "gone"])
        // An expiry longer than their idle time: nobody is deleted yet.
        #expect(try await w.pruneConsumers("acme") == [])
        var eager = WorkerConfiguration(consumerName: "live")
        eager.consumerExpiryMs = 0
        let pruner = try Worker(client: client, configuration: eager)
        #expect(try await pruner.pruneConsumers("acme") == ["gone"])
        #expect(try await consumers() == ["live", "crashed"])
        let pending = try await client.send("XPENDING", key: stream, "workers").array?.first?.int
        #expect(pending == 2)  // the crashed worker's entries are still pending, to be claimed
    }

    @Test func runNoticesNewAgentsAndStopsWhenCancelled() async throws {
        let w = try Worker(client: client, configuration: WorkerConfiguration(
            agentRefreshInterval: .milliseconds(50), idleDelay: .milliseconds(10)))
        let task = Task { await w.run() }
        _ = try await ingestor.ingest(Array(sessions.prefix(6)))
        var beta = ev("z1", B, .userMessage, "t1")
        beta.agentID = "beta"
        _ = try await ingestor.ingest([beta])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let lag = try await w.lag()
            let betaDone = try await inspect.journey("beta", "t1") == ["z1"]
            if lag.perAgent.count == 2 && lag.total.total == 0 && betaDone { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        #expect(try await journey("s1") == ["a1", "a2", "a3", "a4", "a5", "a6"])
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
        #expect(try await inspect.journey("beta", "t1") == ["z1"])
    }

    @Test func wallClockGraceFinalizesTheLastSessionsOfAQuietAgent() async throws {
        _ = try await ingestor.ingest(Array(sessions[11..<13]))  // s3 only, two hours ago: wm alone never passes it
        try await drain([try worker("w")])
        #expect(try await client.send("ZCARD", key: "ins:{acme}:idle").int == 1)
        let graced = try Worker(client: client, configuration: WorkerConfiguration(consumerName: "g", wallClockGraceMs: 300_000))
        #expect(try await graced.sweep("acme") == 1)
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:dropped": 1, "drop:unknown": 1, "out:automated": 1, "out:turns": 1])
    }

    /// Issue 12: the last sessions of an agent that went quiet were never finalized (the sweep compared
    /// against the agent's newest event time, which stops moving). By default the server clock counts too.
    @Test func byDefaultAQuietAgentsIdleSessionIsDroppedByTheServerClock() async throws {
        #expect(WorkerConfiguration().wallClockGraceMs == 60_000)
        let last = EventClock.nowMs() - 70_000  // idle 70 s by the clock: past a 5 s timeout + the 60 s default grace
        let first = last - 2000
        let quiet = [ev("q1", first, .userMessage, "q"), ev("q2", last - 1000, .intentClassified, "q", intent: "billing"),
                     ev("q3", last, .userMessage, "q")]
        _ = try await ingestor.ingest(quiet)
        let hour = "c:h:\(first / 3_600_000 * 3600)"
        // Pure event time: the agent's newest event is this session's last, so it is never due.
        let eventTime = try worker("e", timeoutMs: 5000)
        try await drain([eventTime])
        #expect(try await eventTime.sweep("acme") == 0)
        #expect(try await outcome(hour) == [:])
        // The default configuration, running, while the agent sends nothing: dropped within a sweep interval.
        let w = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "d", sessionTimeoutMs: 5000, sweepInterval: .milliseconds(200), idleDelay: .milliseconds(10)))
        let task = Task { await w.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, try await outcome(hour).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        #expect(try await outcome(hour) == ["out:sessions": 1, "out:dropped": 1, "drop:billing": 1, "out:automated": 1, "out:turns": 2])
        // A late event for the session finalized this way corrects it, still counted once.
        _ = try await ingestor.ingest([ev("q4", last + 500, .intentClassified, "q", intent: "cancel"), ev("q5", last + 600, .userMessage, "q")])
        try await drain([eventTime])
        #expect(try await outcome(hour) == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 3])
    }

    /// An agent that keeps sending: the server clock changes nothing (its newest event time is ahead of
    /// server time − grace), so a backfilled session is finalized at once by event time and a session
    /// still inside the timeout stays open.
    @Test func anAgentWithALiveStreamKeepsEventTimeBehaviour() async throws {
        let now = EventClock.nowMs()
        let events = [
            ev("o1", now - 7_200_000, .userMessage, "old"),  // backfilled, two hours ago
            ev("r1", now - 20_000, .userMessage, "recent"),  // 20 s ago: inside the 60 s timeout
            ev("n1", now - 1000, .userMessage, "now"),       // the newest event: wm
        ]
        _ = try await ingestor.ingest(events)
        let w = try worker("live", timeoutMs: 60_000, grace: WorkerConfiguration.defaultWallClockGraceMs)
        try await drain([w])
        _ = try await w.sweep("acme")
        let idle = try await client.send("ZRANGE", key: "ins:{acme}:idle", "0", "-1").array?.compactMap(\.string) ?? []
        #expect(Set(idle) == ["recent", "now"])
        #expect(try await session("old")["fo"] == "dropped")
        #expect(try await session("recent")["finalized"] == nil)
    }

    @Test func aSlowConsumerApplyingAfterItsEntriesWereClaimedChangesNothing() async throws {
        _ = try await ingestor.ingest(Array(sessions.prefix(6)))
        try await client.send("XGROUP", "CREATE", key: stream, "workers", "0", "MKSTREAM")
        let reply = try await client.send("XREADGROUP", "GROUP", "workers", "slow", "COUNT", "4", "STREAMS", stream, ">")
        let read = Worker.entries(reply.array![0].array![1])
        #expect(read.count == 4)
        try await drain([try worker("rescuer", claimIdleMs: 0)])
        // "slow" wakes up and applies the batch it had read: every XACK returns 0, nothing changes.
        #expect(try await worker("slow").handle("acme", read, redelivered: false) == 0)
        #expect(try await journey("s1") == ["a1", "a2", "a3", "a4", "a5", "a6"])
        #expect(try await session("s1")["turns"] == "2")
        #expect(try await outcome("c:h:\(H)") == ["out:sessions": 1, "out:ended": 1, "out:escalated": 1, "out:turns": 2])
    }
}
