import Foundation
import InsightsModel
import InsightsTracker
import InsightsWorker
import RedisClient

/// Many quiet tenants (issue 14): `agents` agents each send one session and go quiet; two workers
/// run. Measures the Redis CPU the idle deployment costs, and how fast a fresh event reaches its
/// journey while thousands of agents stay quiet (docs/worker.md, *Many agents*).
struct TenantsBench {
    let url: String
    let agents: Int
    /// The workers' background cycle (`.zero`: every agent on every pass, the design before issue 14).
    var fullScanInterval: Duration = WorkerConfiguration().fullScanInterval
    var idleSeconds = 10
    var freshnessSeconds = 10

    func run() async throws -> [String: Any] {
        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 4)
        let label = "tenant-\(UUID().uuidString.prefix(4))"
        let names = (0..<agents).map { "\(label)-\($0)" }
        let ingestor = try EventIngestor(client: client)
        // One session per agent (start, message, answer, end), 500 agents per pipeline.
        let base = EventClock.nowMs() - 60_000
        let seedStart = ContinuousClock.now
        for chunk in stride(from: 0, to: names.count, by: 500) {
            let events = names[chunk..<min(chunk + 500, names.count)].flatMap { agent in
                [EventType.conversationStart, .userMessage, .botResponse, .conversationEnd].enumerated().map { i, type in
                    AnalyticsEvent(eventID: "\(agent)-e\(i)", eventType: type, timestampMs: base + Int64(i) * 1000, sessionID: "s0",
                                   agentID: agent, responseTimeMs: type == .botResponse ? 300 : nil)
                }
            }
            _ = try await ingestor.ingest(events)
        }
        let seeded = (ContinuousClock.now - seedStart) / .seconds(1)

        // Two workers, as `insights worker` runs them (defaults, but the background cycle).
        let pool = try (0..<2).map { i in
            var c = WorkerConfiguration(consumerName: "\(label)-w\(i)")
            c.fullScanInterval = fullScanInterval
            return try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2), configuration: c)
        }
        let tasks = pool.map { w in Task { await w.run() } }
        let startupStart = ContinuousClock.now
        let lagReader = try Worker(client: client)
        while try await lagReader.lag().total.total > 0 { try await Task.sleep(for: .milliseconds(200)) }
        let drained = (ContinuousClock.now - startupStart) / .seconds(1)
        // Let every window that still looks at the seeded agents pass (the longest: claims, which
        // entries of a dead worker need for claimIdleMs after the agent's last activity).
        let d = WorkerConfiguration()
        let settle = max(d.activeWindow, .milliseconds(d.claimIdleMs) + d.claimInterval * 3, d.trimInterval * 2) + .seconds(3)
        try await Task.sleep(for: settle)
        // And the workers' first background cycle (every agent visited once, maxVisitsPerPass a pass):
        // until a 5-second window costs Redis under 2 % of a core, at most 5 minutes (not for the loop
        // that visits every agent on every pass: it never gets quiet).
        let settleStart = ContinuousClock.now
        while fullScanInterval != .zero, ContinuousClock.now - settleStart < .seconds(300) {
            let before = try await ClusterBench.cpuPerNode(client).values.reduce(0, +)
            try await Task.sleep(for: .seconds(5))
            if (try await ClusterBench.cpuPerNode(client).values.reduce(0, +) - before) / 5 < 0.02 { break }
        }
        let settled = (ContinuousClock.now - startupStart) / .seconds(1)

        // Idle: Redis CPU over idleSeconds, nothing sent.
        let cpu0 = try await ClusterBench.cpuPerNode(client).values.reduce(0, +)
        let idleStart = ContinuousClock.now
        try await Task.sleep(for: .seconds(idleSeconds))
        let idleElapsed = (ContinuousClock.now - idleStart) / .seconds(1)
        let idleMsPerSecond = (try await ClusterBench.cpuPerNode(client).values.reduce(0, +) - cpu0) * 1000 / idleElapsed

        // Freshness: every 100 ms a random quiet agent sends one event in a new session; its delay is
        // until its journey exists.
        var delays: [Double] = []
        var rng = SystemRandomNumberGenerator()
        let clock = ContinuousClock()
        let end = clock.now + .seconds(freshnessSeconds)
        var n = 0
        while clock.now < end {
            n += 1
            let agent = names[Int.random(in: 0..<names.count, using: &rng)]
            let sid = "fresh-\(n)"
            let sent = clock.now
            _ = try await ingestor.ingest([AnalyticsEvent(eventID: "\(agent)-f\(n)", eventType: .userMessage, sessionID: sid, agentID: agent)])
            let keys = AgentKeys(agent)
            while clock.now - sent < .seconds(10) {
                let r = try await client.send(RedisCommand("EXISTS", keys: [keys.journey(sid), keys.finalJourney(sid), keys.compactJourney(sid)]))
                if (r.int ?? 0) > 0 { break }
                try await Task.sleep(for: .milliseconds(2))
            }
            delays.append((clock.now - sent) / .milliseconds(1))
            try await Task.sleep(until: sent + .milliseconds(100))
        }
        tasks.forEach { $0.cancel() }
        for t in tasks { await t.value }
        await client.close()
        delays.sort()
        func pct(_ p: Double) -> Double { delays.isEmpty ? -1 : delays[min(delays.count - 1, Int(Double(delays.count) * p))] }
        let scan = fullScanInterval == .zero ? "every agent every pass" : "background cycle \(fullScanInterval)"
        print("tenants: \(agents) quiet agents, 2 workers (\(scan)): idle Redis \(String(format: "%.2f", idleMsPerSecond)) ms CPU/s "
              + "(\(String(format: "%.2f", idleMsPerSecond / 10)) % of a core); fresh event → journey p50 \(Int(pct(0.5))) ms, "
              + "p99 \(Int(pct(0.99))) ms, max \(Int(delays.last ?? -1)) ms (\(delays.count) events); seeded in "
              + "\(String(format: "%.1f", seeded)) s, drained \(String(format: "%.1f", drained)) s and quiet \(String(format: "%.0f", settled)) s after the workers started")
        return [
            "agents": agents, "full_scan_s": fullScanInterval / .seconds(1), "idle_ms_per_s": idleMsPerSecond,
            "idle_core_pct": idleMsPerSecond / 10, "fresh_p50_ms": pct(0.5), "fresh_p99_ms": pct(0.99),
            "fresh_max_ms": delays.last ?? -1, "fresh_events": delays.count, "seed_s": seeded, "drain_s": drained, "settle_s": settled,
        ]
    }
}
