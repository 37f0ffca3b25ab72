import ArgumentParser
import Foundation
import Hummingbird
import InsightsServer
import InsightsTracker
import Logging
import RedisClient
import ServiceLifecycle

/// `insights serve`: the HTTP front only (the analytics API and HTTP ingest), until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the analytics API and HTTP ingest (no workers)."
    )

    @Option(help: "Redis URL (redis://[user:pass@]host:port[,host:port…][/db] or unix:///path); several host:port = seeds of a Redis Cluster. Env: INSIGHTS_REDIS_URL.")
    var redisURL: String = ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(help: "Address to listen on. Env: INSIGHTS_HOST.")
    var host: String = ProcessInfo.processInfo.environment["INSIGHTS_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on. Env: INSIGHTS_PORT.")
    var port: Int = ProcessInfo.processInfo.environment["INSIGHTS_PORT"].flatMap(Int.init) ?? 8080

    @Option(help: "The most entries one agent's stream may hold; ingest past it answers 503 until workers catch up (0 = no cap).")
    var streamCap: Int = EventIngestor.defaultStreamCap

    @OptionGroup var auth: AuthOptions
    @OptionGroup var replication: ReplicationOptions
    @OptionGroup var alerts: AlertOptions
    @OptionGroup var frontOptions: FrontOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard streamCap >= 0 else { throw ValidationError("--stream-cap must be >= 0") }
    }

    func run() async throws {
        InsightsMetrics.bootstrap()  // swift-metrics onto the registry GET /metrics exports (docs/operations.md)
        let logger = Logger(label: "insights.server")
        let apiKeys = try auth.keys(host: host, logger: logger)  // exits non-zero on bad keys or an open non-loopback bind
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: 8)
        var serverConfig = frontOptions.configuration(host: host, port: port, apiKeys: apiKeys, replication: replication, alerts: alerts)
        serverConfig.streamCap = streamCap
        let app = try buildApplication(serverConfig, client: client, logger: logger)
        logger.info("serving", metadata: ["address": "http://\(host):\(port)", "redis": "\(client.configuration.redactedDescription)"])
        // Until SIGTERM/SIGINT: stop accepting, finish the requests taken (Lifecycle).
        try await Lifecycle.run([.init(service: app, serviceName: "front")], logger: logger) {
            await client.close()
            logger.info("server stopped")
        }
    }
}
