import ArgumentParser
import Foundation
import InsightsAlerts
import InsightsModel
import InsightsServer
import InsightsWorker
import Logging
import RedisClient

/// `insights worker`: one member of the worker group, until SIGINT/SIGTERM.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume the event streams: journeys, session outcomes, drop-off, automation."
    )

    @Option(help: "Redis URL (redis://[user:pass@]host:port[,host:port…][/db] or unix:///path; several host:port = seeds of a Redis Cluster). Env: INSIGHTS_REDIS_URL.")
    var redisURL: String = ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(help: "Seconds of event time after which an idle session counts as dropped.")
    var sessionTimeout: Int = 1800

    @Option(help: "Consumer name, unique in the group (default: host-pid-random).")
    var consumer: String?

    @Option(help: "Claim entries pending this long (ms) on any consumer, e.g. of a dead worker (XAUTOCLAIM).")
    var claimIdleMs: Int = 30_000

    @Option(help: "How often (ms) the claim pass runs.")
    var claimIntervalMs: Int = 5_000

    @Option(help: "Deliveries after which an undecodable entry goes to the dead-letter stream.")
    var maxDeliveries: Int = 5

    @Option(help: "Sessions idle longer than --session-timeout by the Redis server clock, plus this allowance (ms) for late events, are finalized as dropped even if their agent sends nothing more.")
    var wallClockGraceMs: Int = Int(WorkerConfiguration.defaultWallClockGraceMs)

    @Option(help: "How often (ms) streams are trimmed below the group's acknowledged point.")
    var trimIntervalMs: Int = 10_000

    @Option(help: "How often (ms) idle sessions are swept (finalized as dropped when past the timeout).")
    var sweepIntervalMs: Int = 1_000

    @Option(help: "How often (ms) finalized sessions are compacted (state and journey into one compressed value).")
    var compactIntervalMs: Int = 1_000

    @Option(help: "A group consumer with no pending entry, idle this long (ms), is forgotten (a stopped worker).")
    var consumerExpiryMs: Int = 3_600_000

    @Option(help: "An agent that woke up (new entries) is read every pass for this long (ms); then only the background cycle and scheduled sweeps visit it (docs/worker.md, Many agents).")
    var activeWindowMs: Int = 10_000

    @Option(help: "Every agent is visited in full at least once per this interval (s), in slices spread over the passes (0 = every agent on every pass).")
    var fullScanIntervalS: Int = 600

    @Option(help: "Days journeys and session state are kept after their last event (memory: docs/worker.md). At least 2.")
    var sessionRetentionDays: Int = 35

    @Flag(help: "Do not evaluate alert rules nor send their notifications in this worker (another process does).")
    var noAlerts = false

    @OptionGroup var alerts: AlertOptions

    func validate() throws {
        guard claimIdleMs >= 0, claimIntervalMs > 0, trimIntervalMs > 0, sweepIntervalMs > 0, compactIntervalMs > 0 else {
            throw ValidationError("--claim-idle-ms must be >= 0; --claim-interval-ms, --trim-interval-ms, --sweep-interval-ms and --compact-interval-ms > 0")
        }
        guard activeWindowMs >= 1000 else { throw ValidationError("--active-window-ms must be at least 1000 (ingest coalesces wake-ups over 200 ms)") }
        guard fullScanIntervalS >= 0 else { throw ValidationError("--full-scan-interval-s must be >= 0") }
        guard consumerExpiryMs >= 0 else { throw ValidationError("--consumer-expiry-ms must be >= 0") }
        guard maxDeliveries >= 1 else { throw ValidationError("--max-deliveries must be at least 1") }
        guard wallClockGraceMs >= 0 else { throw ValidationError("--wall-clock-grace-ms must be >= 0") }
        // Shorter than the ingest de-dup window (up to 49 h) plus a session timeout, a late event
        // could find its session forgotten and count it a second time.
        guard (2...3650).contains(sessionRetentionDays) else { throw ValidationError("--session-retention-days must be between 2 and 3650") }
    }

    func run() async throws {
        InsightsMetrics.bootstrap()  // swift-metrics onto the registry GET /metrics exports (docs/operations.md)
        let logger = Logger(label: "insights.worker")
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: 2)
        var config = WorkerConfiguration(
            sessionTimeoutMs: Int64(sessionTimeout) * 1000, wallClockGraceMs: Int64(wallClockGraceMs),
            claimIdleMs: claimIdleMs, claimInterval: .milliseconds(claimIntervalMs), maxDeliveries: maxDeliveries,
            trimInterval: .milliseconds(trimIntervalMs), sweepInterval: .milliseconds(sweepIntervalMs),
            retention: Retention(session: sessionRetentionDays * 86400))
        if let consumer { config.consumerName = consumer }
        config.consumerExpiryMs = consumerExpiryMs
        config.compactInterval = .milliseconds(compactIntervalMs)
        config.activeWindow = .milliseconds(activeWindowMs)
        config.fullScanInterval = .seconds(fullScanIntervalS)
        let worker = try Worker(client: client, configuration: config, logger: logger)
        // Data in the format before issue 13 would be dead-lettered: refuse, and say how to migrate.
        try await Worker.checkStorage(client: client)
        logger.info("worker started", metadata: ["consumer": "\(config.consumerName)", "redis": "\(client.configuration.redactedDescription)"])
        let engineClient = noAlerts ? nil : RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: 2)
        let engine = try engineClient.map { try AlertEngine(client: $0, configuration: alerts.configuration) }
        // Until SIGTERM/SIGINT; the engine stops first, then the worker (its current script call, apply
        // and ack in one, completes).
        var services = [Lifecycle.loop("worker") { await worker.run() }]
        if let engine { services.append(Lifecycle.loop("alerts") { await engine.run() }) }
        try await Lifecycle.run(services, logger: logger) {
            logger.info("worker stopped")
            await client.close()
            await engineClient?.close()
        }
    }
}
