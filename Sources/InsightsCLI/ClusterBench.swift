import Foundation
import InsightsModel
import InsightsTracker
import InsightsWorker
import RedisClient

/// Ingest and workers on a Redis Cluster (or a plain Redis, for comparison): `agents` agents share
/// `events` events, sent by 2 trackers, then drained by 2 workers. Per primary: the agents and events
/// it holds and its Redis CPU (INFO cpu) per event for ingest and for the workers, so that the cost
/// per event per shard can be compared with one Redis (bench/run.py's cluster phase).
struct ClusterBench {
    let url: String
    let agents: Int
    let events: Int

    func run() async throws -> [String: Any] {
        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 4)
        let label = "shard-\(UUID().uuidString.prefix(4))"
        let names = (0..<agents).map { "\(label)-\($0)" }
        let workload = SimulatedWorkload(seed: 21)
        var generators = names.map { workload.generator(agent: $0, prefix: "\($0)-e") }
        var shares: [[AnalyticsEvent]] = [[], []]
        var perAgent: [String: Int] = [:]
        for i in 0..<events {
            let a = i % agents
            let e = generators[a].next()
            shares[a % 2].append(e)
            perAgent[names[a], default: 0] += 1
        }
        var node: [String: String] = [:]
        for name in names { node[name] = try await client.primary(for: AgentKeys(name).stream) }
        let nodes = Array(Set(node.values)).sorted()

        let cpu0 = try await Self.cpuPerNode(client)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for share in shares {
                group.addTask {
                    var config = TrackerConfiguration()
                    config.capacity = 50_000
                    let tracker = try Tracker(client: client, configuration: config)
                    for e in share { try await tracker.track(e) }
                    await tracker.shutdown()
                }
            }
            try await group.waitForAll()
        }
        let ingestSeconds = (ContinuousClock.now - start) / .seconds(1)
        let cpu1 = try await Self.cpuPerNode(client)

        let pool = try (0..<2).map { i in
            try Worker(client: RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2),
                       configuration: WorkerConfiguration(consumerName: "\(label)-w\(i)"))
        }
        let drainStart = ContinuousClock.now
        let tasks = pool.map { w in Task { await w.run() } }
        let lagReader = try Worker(client: client)
        while try await lagReader.lag().total.total > 0 { try await Task.sleep(for: .milliseconds(50)) }
        let drainSeconds = (ContinuousClock.now - drainStart) / .seconds(1)
        let cpu2 = try await Self.cpuPerNode(client)
        tasks.forEach { $0.cancel() }
        for t in tasks { await t.value }
        await client.close()

        var shards: [[String: Any]] = []
        for n in nodes {
            let mine = names.filter { node[$0] == n }
            let count = mine.reduce(0) { $0 + perAgent[$1, default: 0] }
            let ingestUs = 1e6 * ((cpu1[n] ?? 0) - (cpu0[n] ?? 0)) / Double(max(count, 1))
            let workerUs = 1e6 * ((cpu2[n] ?? 0) - (cpu1[n] ?? 0)) / Double(max(count, 1))
            shards.append(["node": n, "agents": mine.count, "events": count, "ingest_us_per_event": ingestUs,
                           "workers_us_per_event": workerUs])
            print("  \(n): \(mine.count) agents, \(count) events; Redis CPU per event: ingest \(String(format: "%.2f", ingestUs)) µs, "
                  + "workers \(String(format: "%.2f", workerUs)) µs")
        }
        print("cluster load: \(nodes.count) primaries, \(events) events of \(agents) agents: ingest \(Int(Double(events) / ingestSeconds)) events/s, "
              + "drain \(Int(Double(events) / drainSeconds)) events/s")
        return ["primaries": nodes.count, "agents": agents, "events": events, "ingest_rate": Double(events) / ingestSeconds,
                "drain_rate": Double(events) / drainSeconds, "shards": shards]
    }

    /// used_cpu_user + used_cpu_sys (seconds) of each primary.
    static func cpuPerNode(_ client: RedisClient) async throws -> [String: Double] {
        var out: [String: Double] = [:]
        for (node, replies) in try await client.onEachPrimary([RedisCommand("INFO", "cpu")]) {
            var total = 0.0
            for line in (replies.first?.string ?? "").split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":")
                if parts.count == 2, parts[0] == "used_cpu_user" || parts[0] == "used_cpu_sys" { total += Double(parts[1]) ?? 0 }
            }
            out[node] = total
        }
        return out
    }
}
