import Hummingbird
import InsightsAlerts
import InsightsQuery
import InsightsScripts
import InsightsTracker
import InsightsWorker
import Logging
import RedisClient

public typealias AppRequestContext = BasicRequestContext

/// The HTTP front on `config.host:config.port`, answering from `client`.
public func buildApplication(
    _ config: ServerConfiguration, client: RedisClient, logger: Logger = Logger(label: "insights.server")
) throws -> some ApplicationProtocol {
    let router = try buildRouter(config, client: client, logger: logger)
    let readTimeout = config.requestReadTimeout, maxBody = config.maxBodyBytes
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [
            RequestDeadlineHandler(timeout: readTimeout),
            LingeringCloseHandler(maxBodyBytes: maxBody),  // 413s readable by clients that send first, read later
        ])),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "insights"),
        logger: logger)
}

/// Every route of the front, behind the JSON error middleware.
public func buildRouter(
    _ config: ServerConfiguration, client: RedisClient, logger: Logger = Logger(label: "insights.server")
) throws -> Router<AppRequestContext> {
    let query = MetricsQuery(client: client, retention: config.retention)
    let ingestor = try EventIngestor(client: client, luaDirectory: config.luaDirectory ?? LuaScripts.directory(), streamCap: config.streamCap,
                                     replicaAcks: config.replicaAcks)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware())  // requests by route and status, latency histogram (GET /metrics)
    if let accessLogger = config.accessLogger { router.add(middleware: AccessLogMiddleware(logger: accessLogger)) }  // one line per request
    router.add(middleware: JSONErrorMiddleware(logger: logger))
    router.add(middleware: AuthMiddleware(store: config.apiKeys, limiter: config.rateLimiter))  // every route but the open ones needs a key (docs/security.md)
    router.add(middleware: OverviewCacheMiddleware())  // pollers of one overview URL share an answer ≤ 1 s old (OverviewCache.swift)
    StatusController(client: client, query: query, workerGroup: config.workerGroup).addRoutes(to: router)
    let events = EventsController<AppRequestContext>(ingestor: ingestor, maxBodyBytes: config.maxBodyBytes, maxBatchEvents: config.maxBatchEvents)
    events.addRoutes(to: router.group("api/v1"))
    SegmentController(events: events, defaultAgent: config.defaultAgent).addRoutes(to: router.group("v1"))  // docs/ingest.md
    OTLPController(events: events, defaultAgent: config.defaultAgent).addRoutes(to: router.group("v1"))  // docs/ingest.md, OpenTelemetry
    AnalyticsController(query: query, defaultWindowMs: config.defaultWindowMs)
        .addRoutes(to: router.group("api/v1/analytics"))
    AlertsController(store: AlertStore(client: client), targets: config.webhookTargets).addRoutes(to: router.group("api/v1"))
    DashboardController(files: DashboardFiles.locate()).addRoutes(to: router)
    MetricsController(client: client, workerGroup: config.workerGroup).addRoutes(to: router)  // docs/operations.md
    OpenAPIController().addRoutes(to: router)  // GET /openapi.json (OpenAPIDocument.swift, docs/api.md)
    return router
}
