import InsightsAlerts
import InsightsModel
import InsightsQuery
import InsightsTracker
import Logging
import RedisClient

/// How the HTTP front is set up (`insights serve`).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Largest accepted `POST /api/v1/events` body, in bytes.
    public var maxBodyBytes: Int
    /// Most events in one `POST /api/v1/events`.
    public var maxBatchEvents: Int
    /// Default window of the analytics endpoints when no dates are given (ms).
    public var defaultWindowMs: Int64
    public var retention: Retention
    /// The worker group whose lag `/api/v1/status` reports.
    public var workerGroup: String
    /// The directory of the Lua scripts (nil: the default lookup).
    public var luaDirectory: String?
    /// The most entries one agent's stream may hold; ingest past it answers 503 (docs/keys.md). 0 = no cap.
    public var streamCap: Int = EventIngestor.defaultStreamCap
    /// Replicas that must confirm a batch before ingest answers 2xx (``EventIngestor/replicaAcks``); fewer → 503.
    public var replicaAcks: ReplicaAcks?
    /// A request (head, body and end) must be received in full within this time of the connection
    /// opening or of the previous response; else 408 / the connection is closed (`RequestDeadlineHandler`).
    public var requestReadTimeout: Duration = .seconds(10)
    /// The API keys (docs/security.md). Empty: no authentication (then bind loopback only, `BindPolicy`).
    public var apiKeys: APIKeyStore = APIKeyStore()
    /// Which webhook URLs alert rules may name (`--webhook-allow-private`; docs/alerts.md).
    public var webhookTargets = WebhookTargetPolicy()
    /// The per-key ingest token buckets (one per front process).
    public var rateLimiter: RateLimiter = RateLimiter()
    /// The agent of Segment messages that name none when the key is not limited to one agent
    /// (`--default-agent`; docs/ingest.md). nil: such messages are rejected.
    public var defaultAgent: String?
    /// Where the one line per request goes (`AccessLogMiddleware`, docs/operations.md); nil: no access log.
    /// The CLI logs to `insights.access` unless `--no-access-log`.
    public var accessLogger: Logger?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20,
        maxBatchEvents: Int = EventLimits.defaultMaxBatchEvents, defaultWindowMs: Int64 = 30 * 86_400_000,
        retention: Retention = .default, workerGroup: String? = nil, luaDirectory: String? = nil
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxBatchEvents = maxBatchEvents
        self.defaultWindowMs = defaultWindowMs
        self.retention = retention
        self.workerGroup = workerGroup ?? "workers"
        self.luaDirectory = luaDirectory
    }
}
