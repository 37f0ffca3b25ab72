import ArgumentParser
import Foundation
import InsightsModel
import InsightsTracker
import InsightsWorker
import RedisClient

/// `insights bench`: tracker ingest rate against a Redis, beside Redis' own server-side cost,
/// then worker throughput, freshness and lag under sustained ingest. `bench/run.py` drives it
/// (with `--json`) for `make bench`.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure tracker ingest (events/s) and Redis' server-side time per event (INFO commandstats)."
    )

    @Option(help: "Redis URL (redis://host:port or unix:///path). Data is written under agents bench-*.")
    var redisURL: String = ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(help: "Events to send in all.")
    var events: Int = 200_000

    @Option(help: "Concurrent trackers (each one flusher).")
    var trackers: Int = 2

    @Option(help: "Events per script call.")
    var batchSize: Int = EventIngestor.defaultBatchSize

    @Option(help: "Script calls pipelined per round trip.")
    var pipelineDepth: Int = 4

    @Option(help: "Replicas that must confirm each batch (WAIT) before the tracker drops it (0 = none).")
    var replicaAcks: Int = 0

    @Option(help: "Event id / session prefix of the generated workload (default: random).")
    var prefix: String?

    @Option(help: "Send every event to this agent (default: tracker t uses agent bench-t).")
    var agent: String?

    @Option(help: "Write the workload (NDJSON, tracker 0's events first) to this file and exit, without Redis.")
    var dumpEvents: String?

    @Option(help: "Send the events of this NDJSON file (from --dump-events) instead of generating them.")
    var eventsFile: String?

    @Option(help: "Events for the worker throughput runs (0 skips the worker benchmarks).")
    var workerEvents: Int = 50_000

    @Option(help: "Entries per worker read / apply call (default: the worker's default).")
    var workerBatch: Int?

    @Option(help: "Seconds of steady ingest for the freshness run (0 skips it).")
    var freshnessSeconds: Int = 6

    @Option(help: "Ingest rate (events/s) of the freshness run.")
    var freshnessRate: Int = 5000

    @Option(help: "Seconds of paced ingest with 2 workers for the lag-over-time run (0 skips it).")
    var sustainedSeconds: Int = 0

    @Option(help: "Rate of the lag-over-time run (default: 80% of the Redis ceiling for ingest + workers together).")
    var sustainedRate: Int?

    @Option(help: "Only the many-tenants run: this many agents send one session each and go quiet; idle Redis CPU and freshness with 2 workers.")
    var tenants: Int = 0

    @Option(help: "The workers' background cycle in the many-tenants run, in seconds (0: every agent on every pass, the design before issue 14).")
    var tenantsFullScanS: Int = Int(WorkerConfiguration().fullScanInterval / .seconds(1))

    @Option(help: "Only the cluster-load run: --events events of this many agents, 2 trackers then 2 workers; Redis CPU per event on each primary.")
    var clusterLoad: Int = 0

    @Option(help: "Write every figure as JSON to this file.")
    var json: String?

    func agentName(_ t: Int) -> String { agent ?? "bench-\(t)" }

    /// Tracker t's events, as the benchmark sends them.
    func generate(prefix: String) -> [[AnalyticsEvent]] {
        let workload = SimulatedWorkload(seed: 42)
        return (0..<trackers).map { t in
            var g = workload.generator(agent: agentName(t), prefix: "\(prefix)-\(t)")
            return (0..<(events / trackers)).map { _ in g.next() }
        }
    }

    func load(_ path: String) throws -> [[AnalyticsEvent]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let now = EventClock.nowMs()
        var all: [AnalyticsEvent] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            switch EventDecoding.decode(json: Data(line), now: now) {
            case .success(let e): all.append(e)
            case .failure(let error): throw ValidationError("\(path): \(error)")
            }
        }
        let per = all.count / trackers
        return (0..<trackers).map { Array(all[($0 * per)..<(($0 + 1) * per)]) }
    }

    func run() async throws {
        if clusterLoad > 0 {
            let figures = try await ClusterBench(url: redisURL, agents: clusterLoad, events: events).run()
            if let json {
                try JSONSerialization.data(withJSONObject: ["cluster": figures], options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
            }
            return
        }
        if tenants > 0 {
            let figures = try await TenantsBench(url: redisURL, agents: tenants, fullScanInterval: .seconds(tenantsFullScanS)).run()
            if let json {
                try JSONSerialization.data(withJSONObject: ["tenants": figures], options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
            }
            return
        }
        let prefix = self.prefix ?? String(UUID().uuidString.prefix(8))
        if let path = dumpEvents {
            var out = Data()
            for list in generate(prefix: prefix) {
                for e in list {
                    out.append(contentsOf: e.jsonBytes())
                    out.append(UInt8(ascii: "\n"))
                }
            }
            try out.write(to: URL(fileURLWithPath: path))
            print("wrote \(events / trackers * trackers) events to \(path)")
            return
        }
        let shares = try eventsFile.map(load) ?? generate(prefix: prefix)
        var results: [String: Any] = [:]
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: max(2, trackers))
        let memBefore = try await Self.usedMemory(client)
        try await client.send("CONFIG", "RESETSTAT")
        let cpuStart = Self.cpuSeconds()
        let start = ContinuousClock.now
        var accepted = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for share in shares {
                group.addTask {
                    var config = TrackerConfiguration()
                    config.batchSize = batchSize
                    config.pipelineDepth = pipelineDepth
                    config.replicaAcks = replicaAcks > 0 ? ReplicaAcks(replicas: replicaAcks) : nil
                    config.capacity = 50_000
                    let tracker = try Tracker(client: client, configuration: config)
                    for e in share { try await tracker.track(e) }
                    await tracker.shutdown()
                    return await tracker.statistics.accepted
                }
            }
            for try await n in group { accepted += n }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let cpu = Self.cpuSeconds() - cpuStart
        let info = try await client.send("INFO", "commandstats").string ?? ""
        let memAfter = try await Self.usedMemory(client)
        let (calls, usec) = Self.commandStats(info, command: "evalsha")
        let serverUsPerEvent = usec / Double(max(accepted, 1))
        let rate = Double(accepted) / seconds
        let ceiling = 1_000_000 / serverUsPerEvent
        print("tracker ingest: \(accepted) events in \(String(format: "%.2f", seconds)) s = \(Int(rate)) events/s "
              + "(\(shares.count) trackers, batch \(batchSize), pipeline \(pipelineDepth))")
        print("redis server time: \(calls) EVALSHA calls, \(String(format: "%.2f", serverUsPerEvent)) µs/event "
              + "→ ceiling \(Int(ceiling)) events/s on one Redis core")
        print("achieved / ceiling: \(String(format: "%.0f", 100 * rate / ceiling)) %")
        results["tracker"] = [
            "events": accepted, "seconds": seconds, "rate": rate, "trackers": shares.count, "batch": batchSize,
            "pipeline": pipelineDepth, "evalsha_calls": calls, "server_us_per_event": serverUsPerEvent,
            "ceiling": ceiling, "ratio": rate / ceiling, "used_memory_before": memBefore, "used_memory_after": memAfter,
            "tracker_cpu_seconds": cpu,
        ] as [String: Any]
        await client.close()
        let wb = WorkerBench(url: redisURL, events: workerEvents, batchSize: workerBatch)
        var workerUs: Double?, workerCpuUs: Double?
        if workerEvents > 0 {
            let runs = try await wb.throughput()
            results["workers"] = runs
            workerUs = runs.last?["server_us_per_event"] as? Double
            workerCpuUs = runs.last?["client_cpu_us_per_event"] as? Double
        }
        if freshnessSeconds > 0 {
            results["freshness"] = try await wb.steady(rate: freshnessRate, seconds: freshnessSeconds, label: "freshness")
        }
        // What one event costs in all, in CPU µs, on this machine: Redis for ingest and for the
        // workers (one core), the tracker's and the workers' client side (the other core(s)).
        let trackerCpuUs = 1e6 * cpu / Double(max(accepted, 1))
        let redisUs = serverUsPerEvent + (workerUs ?? serverUsPerEvent)
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let totalUs = redisUs + trackerCpuUs + (workerCpuUs ?? trackerCpuUs)
        // Sustained: the pipeline cannot go faster than Redis' one core allows, nor than all cores allow.
        let sustainedCeiling = min(1e6 / redisUs, cores * 1e6 / totalUs)
        results["pipeline"] = [
            "redis_us_per_event": redisUs, "tracker_cpu_us_per_event": trackerCpuUs, "worker_cpu_us_per_event": workerCpuUs ?? -1,
            "total_cpu_us_per_event": totalUs, "cores": cores, "redis_bound": 1e6 / redisUs, "cpu_bound": cores * 1e6 / totalUs,
            "sustained_ceiling": sustainedCeiling,
        ] as [String: Any]
        print("pipeline: Redis \(String(format: "%.1f", redisUs)) µs + tracker \(String(format: "%.1f", trackerCpuUs)) µs + workers "
              + "\(String(format: "%.1f", workerCpuUs ?? trackerCpuUs)) µs CPU per event → sustained ceiling \(Int(sustainedCeiling)) events/s")
        if sustainedSeconds > 0 {
            let r = sustainedRate ?? Int(0.8 * sustainedCeiling)
            var s = try await wb.steady(rate: r, seconds: sustainedSeconds, label: "sustained")
            s["ingest_us_per_event"] = serverUsPerEvent
            s["worker_us_per_event"] = workerUs
            results["sustained"] = s
        }
        if let path = json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: path))
        }
    }

    /// User + system CPU time of this process so far (getrusage), in seconds.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    static func usedMemory(_ client: RedisClient) async throws -> Int {
        let info = try await client.send("INFO", "memory").string ?? ""
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("used_memory:") {
            return Int(line.dropFirst("used_memory:".count)) ?? 0
        }
        return 0
    }

    /// `cmdstat_evalsha:calls=N,usec=U,...` → (N, U).
    static func commandStats(_ info: String, command: String) -> (calls: Int, usec: Double) {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(command):") {
            var calls = 0, usec = 0.0
            for part in line.dropFirst("cmdstat_\(command):".count).split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, kv[0] == "calls" { calls = Int(kv[1]) ?? 0 }
                if kv.count == 2, kv[0] == "usec" { usec = Double(kv[1]) ?? 0 }
            }
            return (calls, usec)
        }
        return (0, 0)
    }

    /// Server time of every command, summed (µs).
    static func totalUsec(_ info: String) -> Double {
        var total = 0.0
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            for part in line.split(separator: ":").last?.split(separator: ",") ?? [] {
                let kv = part.split(separator: "=")
                if kv.count == 2, kv[0] == "usec" { total += Double(kv[1]) ?? 0 }
            }
        }
        return total
    }
}
