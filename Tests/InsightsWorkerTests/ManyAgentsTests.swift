import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
@testable import InsightsWorker
import RedisClient
import Testing

/// Many agents, most of them quiet (docs/worker.md, *Many agents*): workers learn from the wake-up
/// streams which agents have new entries, and leave quiet agents alone but for their background
/// visit and a sweep when their idle sessions come due.
@Suite("Many quiet agents")
struct ManyAgentsTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
    }

    func event(_ agent: String, _ id: String, _ type: EventType = .userMessage, session: String = "s", at ts: Int64 = EventClock.nowMs() - 1000) -> AnalyticsEvent {
        AnalyticsEvent(eventID: id, eventType: type, timestampMs: ts, sessionID: session, agentID: agent)
    }

    func worker(timeoutMs: Int64 = 1_800_000, grace: Int64? = WorkerConfiguration.defaultWallClockGraceMs,
                active: Duration = .seconds(10), fullScan: Duration = .seconds(300)) throws -> Worker {
        var c = WorkerConfiguration(consumerName: "w", sessionTimeoutMs: timeoutMs, wallClockGraceMs: grace, claimIdleMs: 100, claimInterval: .zero,
                                    trimInterval: .seconds(3600), sweepInterval: .zero)
        c.activeWindow = active
        c.fullScanInterval = fullScan
        c.compactInterval = .zero
        return try Worker(client: client, configuration: c)
    }

    /// Calls per command since the last `CONFIG RESETSTAT` (INFO commandstats).
    func calls() async throws -> [String: Int] {
        let info = try await client.send("INFO", "commandstats").string ?? ""
        var out: [String: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let r = line.range(of: "calls="), let n = Int(line[r.upperBound...].prefix { $0.isNumber }) { out[String(name)] = n }
        }
        return out
    }

    @Test func quietAgentsCostNothingAndAWokenOneIsReadAtOnce() async throws {
        let agents = (0..<200).map { "quiet-\($0)" }
        _ = try await ingestor.ingest(agents.flatMap { [event($0, "\($0)-1", .conversationStart), event($0, "\($0)-2", .conversationEnd)] })
        // The active window ends before the passes we count; the first pass visits every agent.
        let w = try worker(active: .milliseconds(300))
        _ = try await w.processOnce()
        #expect(try await w.lag().total.total == 0)
        try await Task.sleep(for: .milliseconds(400))
        _ = try await w.processOnce()  // forgets the agents that went quiet
        try await client.send("CONFIG", "RESETSTAT")
        for _ in 0..<20 { _ = try await w.processOnce() }
        let quiet = try await calls()
        // 20 passes over 200 quiet agents: only the 16 wake-up streams were read, each pass.
        #expect(quiet["xreadgroup"] == nil && quiet["evalsha"] == nil && quiet["xautoclaim"] == nil, "\(quiet)")
        #expect(quiet["xread"] == 20 * AgentKeys.wakeShards)

        // One agent sends again: its wake-up makes the very next pass read it, and only it.
        try await client.send("CONFIG", "RESETSTAT")
        #expect(try await ingestor.ingest([event("quiet-7", "quiet-7-late", session: "t")]).accepted == 1)
        #expect(try await w.processOnce() == 1)
        #expect(try await StorageInspector(client: client).journey("quiet-7", "t") == ["quiet-7-late"])
        #expect(try await calls()["xreadgroup"] == 1)
    }

    @Test func aQuietAgentsIdleSessionIsSweptWhenItComesDue() async throws {
        // Timeout 4 s, no grace: the session is due 4 s after its last event by the server clock.
        let w = try worker(timeoutMs: 4000, grace: 0, active: .milliseconds(100))
        let start = ContinuousClock.now
        _ = try await ingestor.ingest([event("idle-agent", "i1", .conversationStart, at: EventClock.nowMs())])
        _ = try await w.processOnce()
        if ContinuousClock.now - start < .seconds(3) {  // (a machine this slow would have made it due already)
            #expect(try await StorageInspector(client: client).finalized("idle-agent", "s") == false)
        }
        // Quiet from here on: no wake-up, the active window over; the scheduled sweep finalizes it.
        let deadline = ContinuousClock.now + .seconds(15)
        var finalized = false
        while !finalized, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            _ = try await w.processOnce()
            finalized = try await StorageInspector(client: client).finalized("idle-agent", "s")
        }
        #expect(finalized)
    }

    @Test func entriesNoWakeUpAnnouncedAreFoundByTheBackgroundCycle() async throws {
        let w = try worker(active: .milliseconds(100), fullScan: .seconds(1))
        _ = try await ingestor.ingest([event("silent", "x1")])
        _ = try await w.processOnce()
        // An entry written without a wake-up (a tracker of an older version, a lost XADD).
        var raw = RedisCommand("XADD", key: AgentKeys("silent").stream, "*", "s", "s", "r")
        raw.append(bytes: JourneyRecord(event: event("silent", "x2")).encoded())
        try await client.send(raw)
        try await Task.sleep(for: .milliseconds(200))
        let deadline = ContinuousClock.now + .seconds(5)
        while try await w.lag().total.total > 0, ContinuousClock.now < deadline {
            _ = try await w.processOnce()
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await StorageInspector(client: client).journey("silent", "s") == ["x1", "x2"])
    }
}
