import Foundation
import InsightsModel
import InsightsTracker
import InsightsWorker
import RedisClient

/// Worker throughput (1 and 2 workers) and freshness (track() → event in its journey).
struct WorkerBench {
    let url: String
    let events: Int

    func run() async throws {
        for workers in [1, 2] {
            let agent = "wbench-\(workers)-\(UUID().uuidString.prefix(6))"
            let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 4)
            // Fill the stream first, then time the workers draining it.
            let tracker = try Tracker(client: client)
            var gen = SimulatedWorkload(seed: 7).generator(agent: agent, prefix: agent)
            for _ in 0..<events { try await tracker.track(gen.next()) }
            await tracker.shutdown()
            let pool = try (0..<workers).map { i in
                try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2),
                           configuration: WorkerConfiguration(consumerName: "bench-\(i)"))
            }
            // The workers drain every agent's stream (earlier benchmark data too): count all of it.
            let backlog = try await pool[0].lag().total.total
            let start = ContinuousClock.now
            let tasks = pool.map { w in Task { await w.run() } }
            while try await pool[0].lag().total.total > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            tasks.forEach { $0.cancel() }
            for t in tasks { await t.value }
            print("workers: \(workers) → \(Int(Double(backlog) / seconds)) events/s (\(backlog) entries drained in \(String(format: "%.2f", seconds)) s)")
        }
        try await freshness()
    }

    /// Steady ingest with 2 workers running; probe events in their own sessions are polled for in the journeys.
    func freshness(rate: Int = 5000, seconds: Int = 6) async throws {
        let agent = "fresh-\(UUID().uuidString.prefix(6))"
        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 4)
        let pool = try (0..<2).map { i in
            try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2),
                       configuration: WorkerConfiguration(consumerName: "fresh-\(i)", agentRefreshInterval: .milliseconds(200)))
        }
        let tasks = pool.map { w in Task { await w.run() } }
        var config = TrackerConfiguration()
        config.flushInterval = 0.05
        let tracker = try Tracker(client: client, configuration: config)
        var gen = SimulatedWorkload(seed: 9).generator(agent: agent, prefix: agent)
        var outstanding: [(session: String, sent: ContinuousClock.Instant)] = []
        var delays: [Double] = []
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        while clock.now - start < .seconds(seconds) {
            // 10 ms ticks at the target rate; every tick one probe.
            for _ in 0..<(rate / 100) { try await tracker.track(gen.next()); sent += 1 }
            let probe = "probe-\(sent)"
            try await tracker.track(AnalyticsEvent(eventType: .userMessage, sessionID: probe, agentID: agent))
            outstanding.append((probe, clock.now))
            let replies = try await client.pipeline(outstanding.map { RedisCommand("EXISTS", "ins:{\(agent)}:journey:\($0.session)") })
            let now = clock.now
            var still: [(session: String, sent: ContinuousClock.Instant)] = []
            for (p, r) in zip(outstanding, replies) {
                if r.int == 1 { delays.append((now - p.sent) / .milliseconds(1)) } else { still.append(p) }
            }
            outstanding = still
            try await Task.sleep(for: .milliseconds(10))
        }
        await tracker.shutdown()
        tasks.forEach { $0.cancel() }
        delays.sort()
        func pct(_ p: Double) -> Double { delays.isEmpty ? .nan : delays[min(delays.count - 1, Int(Double(delays.count) * p))] }
        print("freshness (2 workers, ~\(rate) events/s, \(delays.count) probes, \(outstanding.count) not seen before the end): "
              + "p50 \(Int(pct(0.5))) ms, p99 \(Int(pct(0.99))) ms")
    }
}
