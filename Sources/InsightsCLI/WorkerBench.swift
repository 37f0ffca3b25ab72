import Foundation
import InsightsModel
import InsightsTracker
import InsightsWorker
import RedisClient

/// Worker throughput (1 and 2 workers), freshness (track() → event in its journey) and lag over
/// time while the tracker ingests at a steady rate.
struct WorkerBench {
    let url: String
    let events: Int
    /// Entries per XREADGROUP / apply call (nil: WorkerConfiguration's default).
    var batchSize: Int? = nil

    func configuration(_ name: String, refresh: Duration = .seconds(3)) -> WorkerConfiguration {
        var c = WorkerConfiguration(consumerName: name, agentRefreshInterval: refresh)
        if let batchSize { c.batchSize = batchSize }
        return c
    }

    /// Fills a stream, then times 1 and 2 workers draining every stream. Server time per event
    /// is every command of the drain (apply, sweep, XREADGROUP, trim) from INFO commandstats.
    func throughput() async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
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
                           configuration: configuration("bench-\(i)"))
            }
            // The workers drain every agent's stream (earlier benchmark data too): count all of it.
            let backlog = try await pool[0].lag().total.total
            try await client.send("CONFIG", "RESETSTAT")
            let cpu0 = Bench.cpuSeconds()
            let start = ContinuousClock.now
            let tasks = pool.map { w in Task { await w.run() } }
            while try await pool[0].lag().total.total > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            let cpu = Bench.cpuSeconds() - cpu0  // the workers' client side (and this loop's lag polls)
            tasks.forEach { $0.cancel() }
            for t in tasks { await t.value }
            let info = try await client.send("INFO", "commandstats").string ?? ""
            let polling = Bench.commandStats(info, command: "xinfo").usec + Bench.commandStats(info, command: "xlen").usec
                + Bench.commandStats(info, command: "xrange").usec
            let us = (Bench.totalUsec(info) - polling) / Double(max(backlog, 1))
            let rate = Double(backlog) / seconds
            print("workers: \(workers) → \(Int(rate)) events/s (\(backlog) entries drained in \(String(format: "%.2f", seconds)) s, "
                  + "\(String(format: "%.1f", us)) µs/event in Redis)")
            out.append(["workers": workers, "backlog": backlog, "seconds": seconds, "rate": rate, "server_us_per_event": us,
                        "client_cpu_us_per_event": 1e6 * cpu / Double(max(backlog, 1))])
            await client.close()
        }
        return out
    }

    /// Two trackers at `rate` events/s in all with 2 workers running, for `seconds`. Every 10 ms
    /// a probe event opens its own session; its delay is until its journey exists. The group's
    /// lag (undelivered + pending) is sampled every second.
    func steady(rate: Int, seconds: Int, label: String) async throws -> [String: Any] {
        let agent = "\(label)-\(UUID().uuidString.prefix(6))"
        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 4)
        let lagReader = try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 1))
        let pool = try (0..<2).map { i in
            try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2),
                       configuration: configuration("\(label)-\(i)", refresh: .milliseconds(200)))
        }
        // Let the workers finish any earlier backlog first, so the run starts at lag 0.
        let tasks = pool.map { w in Task { await w.run() } }
        while try await lagReader.lag().total.total > 0 { try await Task.sleep(for: .milliseconds(50)) }
        var config = TrackerConfiguration()
        config.flushInterval = 0.05
        config.capacity = 200_000
        let trackers = try (0..<2).map { _ in try Tracker(client: client, configuration: config) }
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(seconds)

        // Lag sampler.
        let sampler = Task { () -> [(Double, Int)] in
            var samples: [(Double, Int)] = []
            while clock.now < end {
                try? await Task.sleep(for: .seconds(1))
                if let l = try? await lagReader.lag().total.total { samples.append(((clock.now - start) / .seconds(1), l)) }
            }
            return samples
        }
        // Paced load: tracker 1 sends half, tracker 0 the other half plus the probes.
        let helper = Task { () -> Int in
            var gen = SimulatedWorkload(seed: 11).generator(agent: agent, prefix: "\(agent)-b", live: true)
            var sent = 0
            while clock.now < end {
                let due = Int(Double(rate / 2) * ((clock.now - start) / .seconds(1)))
                while sent < due { _ = try? await trackers[1].track(gen.next()); sent += 1 }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return sent
        }
        var gen = SimulatedWorkload(seed: 9).generator(agent: agent, prefix: "\(agent)-a", live: true)
        var outstanding: [(session: String, sent: ContinuousClock.Instant)] = []
        var delays: [Double] = []
        var sent = 0, probes = 0
        var nextProbe = start
        while clock.now < end {
            let due = Int(Double(rate - rate / 2) * ((clock.now - start) / .seconds(1)))
            while sent < due { try await trackers[0].track(gen.next()); sent += 1 }
            if clock.now >= nextProbe {
                probes += 1
                let probe = "probe-\(probes)"
                try await trackers[0].track(AnalyticsEvent(eventType: .userMessage, sessionID: probe, agentID: agent))
                outstanding.append((probe, clock.now))
                nextProbe = nextProbe + .milliseconds(10)
                // The oldest 100 outstanding probes only: checking every one would load Redis more as lag grows.
                let checked = outstanding.prefix(100)
                let keys = AgentKeys(agent)
                let replies = try await client.pipeline(checked.map {
                    RedisCommand("EXISTS", keys: [keys.journey($0.session), keys.finalJourney($0.session), keys.compactJourney($0.session)])
                })
                let now = clock.now
                var still: [(session: String, sent: ContinuousClock.Instant)] = []
                for (p, r) in zip(checked, replies) {
                    if (r.int ?? 0) > 0 { delays.append((now - p.sent) / .milliseconds(1)) } else { still.append(p) }
                }
                outstanding = still + outstanding.dropFirst(checked.count)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        let total = sent + probes + (await helper.value)
        let elapsed = (clock.now - start) / .seconds(1)
        for t in trackers { await t.shutdown() }
        let samples = await sampler.value
        tasks.forEach { $0.cancel() }
        for t in tasks { await t.value }
        await client.close()
        delays.sort()
        func pct(_ p: Double) -> Double { delays.isEmpty ? -1 : delays[min(delays.count - 1, Int(Double(delays.count) * p))] }
        // Growth: least-squares slope of the lag over the second half of the run (entries/s).
        let half = samples.filter { $0.0 >= elapsed / 2 }
        var slope = 0.0
        if half.count >= 2 {
            let mx = half.map(\.0).reduce(0, +) / Double(half.count), my = half.map { Double($0.1) }.reduce(0, +) / Double(half.count)
            let num = half.map { ($0.0 - mx) * (Double($0.1) - my) }.reduce(0, +)
            let den = half.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +)
            slope = den > 0 ? num / den : 0
        }
        let achieved = Double(total) / elapsed
        print("\(label) (2 workers, target \(rate) events/s, achieved \(Int(achieved)), \(delays.count) probes seen, "
              + "\(outstanding.count) not seen before the end): p50 \(Int(pct(0.5))) ms, p99 \(Int(pct(0.99))) ms; "
              + "lag samples \(samples.map { $0.1 }), second-half slope \(Int(slope)) entries/s")
        return [
            "target_rate": rate, "achieved_rate": achieved, "seconds": elapsed, "probes_seen": delays.count,
            "probes_unseen": outstanding.count, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "lag_samples": samples.map { [$0.0, Double($0.1)] }, "lag_slope": slope,
        ]
    }
}
