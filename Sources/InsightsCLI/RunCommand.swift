import ArgumentParser
import Foundation
import Hummingbird
import InsightsAlerts
import InsightsServer
import InsightsWorker
import Logging
import RedisClient
import ServiceLifecycle

/// `insights run`: everything in one process — managed Redis (unless a URL is given), the HTTP
/// front, N in-process workers and, unless disabled, the simulator feeding the agent `demo`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the front, in-process workers and (by default) the demo simulator; starts its own Redis if no URL is given."
    )

    @Option(help: "Redis URL; without one a redis-server is started with data under ./.insights/. Env: INSIGHTS_REDIS_URL.")
    var redisURL: String?

    @Option(help: "Address to listen on. Env: INSIGHTS_HOST.")
    var host: String = ProcessInfo.processInfo.environment["INSIGHTS_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on. Env: INSIGHTS_PORT.")
    var port: Int = ProcessInfo.processInfo.environment["INSIGHTS_PORT"].flatMap(Int.init) ?? 8080

    @Option(help: "Without --redis-url: start a local Redis Cluster of N primaries (3 or more), each with one replica, under ./.insights/cluster/ instead of one redis-server.")
    var cluster: Int?

    @Option(help: "In-process workers.")
    var workers: Int = 2

    @Option(help: "Seconds of event time after which an idle session counts as dropped.")
    var sessionTimeout: Int = 1800

    @Flag(help: "Do not run the demo simulator (also INSIGHTS_DEMO=0).")
    var noDemo = false

    @OptionGroup var auth: AuthOptions
    @OptionGroup var replication: ReplicationOptions
    @OptionGroup var alerts: AlertOptions
    @OptionGroup var frontOptions: FrontOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        if let cluster { guard (3...16).contains(cluster) else { throw ValidationError("--cluster must be between 3 and 16 (a cluster needs 3 primaries)") } }
        guard sessionTimeout > 0 else { throw ValidationError("--session-timeout must be positive") }
    }

    func run() async throws {
        InsightsMetrics.bootstrap()  // swift-metrics onto the registry GET /metrics exports (docs/operations.md)
        let logger = Logger(label: "insights.run")
        let env = ProcessInfo.processInfo.environment
        let apiKeys = try auth.keys(host: host, logger: logger)  // before anything starts: exits non-zero on bad keys or an open non-loopback bind
        let given = redisURL ?? env["INSIGHTS_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let managedCluster = given == nil && cluster != nil ? try ManagedCluster(primaries: cluster!) : nil
        defer { managedCluster?.stop() }
        let managed = given == nil && cluster == nil ? try ManagedRedis() : nil
        defer { managed?.stop() }
        let url = given ?? managedCluster?.url ?? managed!.url
        if let managed { logger.info("managed redis-server started", metadata: ["url": "\(url)", "log": "\(managed.logPath)"]) }
        if let managedCluster {
            logger.info("managed redis cluster started", metadata: ["url": "\(url)", "data": "\(managedCluster.directory)"])
        }

        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 8)
        var clients = [client]  // every one is closed once the group has stopped
        func newClient(poolSize: Int) throws -> RedisClient {
            let c = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: poolSize)
            clients.append(c)
            return c
        }
        if workers > 0 { try await Worker.checkStorage(client: client) }  // data before issue 13: `insights migrate` first
        // The services in start order; the shutdown goes the other way (Lifecycle): the front stops
        // accepting, the demo's trackers deliver what they hold, the workers drain and stop last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for i in 0..<workers {
            var config = WorkerConfiguration(sessionTimeoutMs: Int64(sessionTimeout) * 1000)
            config.consumerName += "-\(i)"
            let worker = try Worker(client: try newClient(poolSize: 2),
                                    configuration: config, logger: Logger(label: "insights.worker"))
            services.append(Lifecycle.loop("worker-\(i)") { await worker.run() })
        }
        // Alert rules are evaluated (once a minute) and notifications sent by one engine per process.
        if workers > 0 {
            let engine = try AlertEngine(client: try newClient(poolSize: 2),
                                         configuration: alerts.configuration)
            services.append(Lifecycle.loop("alerts") { await engine.run() })
        }
        let demo = !noDemo && env["INSIGHTS_DEMO"] != "0"
        if demo {
            // A failing demo is logged by the group and does not stop the service.
            services.append(.init(service: SimulatorService(Simulator(agent: "demo", platforms: 4, rate: 20), client: client, progress: false, logger: logger),
                                  successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: "demo-simulator"))
        }
        let serverConfig = frontOptions.configuration(host: host, port: port, apiKeys: apiKeys, replication: replication, alerts: alerts)
        services.append(.init(service: try buildApplication(serverConfig, client: client, logger: logger), serviceName: "front"))
        print("Insights is running: http://\(host):\(port)/  (API under /api/v1, status at /api/v1/status)"
              + (demo ? "; the simulator feeds agent 'demo'" : ""))
        try await Lifecycle.run(services, logger: logger, onSecondSignal: { managed?.stop(); managedCluster?.stop() }) {
            for c in clients { await c.close() }
            logger.info("stopped")
        }
    }
}
