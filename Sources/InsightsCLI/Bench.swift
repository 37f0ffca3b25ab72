import ArgumentParser
import Foundation
import InsightsModel
import InsightsTracker
import RedisClient

/// `insights bench`: tracker ingest rate against a Redis, beside Redis' own server-side cost.
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
    var batchSize: Int = 100

    @Option(help: "Script calls pipelined per round trip.")
    var pipelineDepth: Int = 4

    @Option(help: "Events for the worker throughput runs (0 skips the worker benchmark).")
    var workerEvents: Int = 50_000

    func run() async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: max(2, trackers))
        try await client.send("CONFIG", "RESETSTAT")
        let workload = SimulatedWorkload(seed: 42)
        let perTracker = events / trackers
        let run = UUID().uuidString.prefix(8)
        let start = ContinuousClock.now
        var accepted = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<trackers {
                group.addTask {
                    var config = TrackerConfiguration()
                    config.batchSize = batchSize
                    config.pipelineDepth = pipelineDepth
                    config.capacity = 50_000
                    let tracker = try Tracker(client: client, configuration: config)
                    var generator = workload.generator(agent: "bench-\(t % 4)", prefix: "\(run)-\(t)")
                    for _ in 0..<perTracker { try await tracker.track(generator.next()) }
                    await tracker.shutdown()
                    return await tracker.statistics.accepted
                }
            }
            for try await n in group { accepted += n }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let info = try await client.send("INFO", "commandstats").string ?? ""
        let (calls, usec) = Self.commandStats(info, command: "evalsha")
        let serverUsPerEvent = usec / Double(max(accepted, 1))
        let rate = Double(accepted) / seconds
        let ceiling = 1_000_000 / serverUsPerEvent
        print("tracker ingest: \(accepted) events in \(String(format: "%.2f", seconds)) s = \(Int(rate)) events/s "
              + "(\(trackers) trackers, batch \(batchSize), pipeline \(pipelineDepth))")
        print("redis server time: \(calls) EVALSHA calls, \(String(format: "%.2f", serverUsPerEvent)) µs/event "
              + "→ ceiling \(Int(ceiling)) events/s on one Redis core")
        print("achieved / ceiling: \(String(format: "%.0f", 100 * rate / ceiling)) %")
        await client.close()
        if workerEvents > 0 { try await WorkerBench(url: redisURL, events: workerEvents).run() }
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
}
