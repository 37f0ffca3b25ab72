import ArgumentParser
import Dispatch
import Foundation
import InsightsWorker
import Logging
import RedisClient

/// `insights worker`: one member of the worker group, until SIGINT/SIGTERM.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume the event streams: journeys, session outcomes, drop-off, automation."
    )

    @Option(help: "Redis URL (redis://[user:pass@]host:port[/db] or unix:///path). Env: INSIGHTS_REDIS_URL.")
    var redisURL: String = ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(help: "Seconds of event time after which an idle session counts as dropped.")
    var sessionTimeout: Int = 1800

    @Option(help: "Consumer name, unique in the group (default: host-pid-random).")
    var consumer: String?

    func run() async throws {
        let logger = Logger(label: "insights.worker")
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: 2)
        var config = WorkerConfiguration(sessionTimeoutMs: Int64(sessionTimeout) * 1000)
        if let consumer { config.consumerName = consumer }
        let worker = try Worker(client: client, configuration: config, logger: logger)
        logger.info("worker started", metadata: ["consumer": "\(config.consumerName)", "redis": "\(client.configuration.redactedDescription)"])
        let task = Task { await worker.run() }
        // Stop on SIGINT/SIGTERM: the current script call completes (apply and ack are one atomic call).
        let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        await task.value
        signals.forEach { $0.cancel() }
        logger.info("worker stopped")
        await client.close()
    }
}
