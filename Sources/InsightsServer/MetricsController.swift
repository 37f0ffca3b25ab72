import Hummingbird
import InsightsModel
import InsightsWorker
import Metrics
import Prometheus
import RedisClient

/// The process's metrics registry: swift-metrics' API everywhere, bootstrapped once onto
/// swift-prometheus' registry, exported by `GET /metrics` (docs/operations.md, *Metrics*).
public enum InsightsMetrics {
    public static let registry = PrometheusCollectorRegistry()
    private static let once: Void = MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

    /// Points swift-metrics at ``registry``; later calls do nothing (swift-metrics allows one bootstrap per process).
    public static func bootstrap() { once }
}

/// `GET /metrics`: Prometheus' text format. Per-agent worker lag, pending entries and dead letters
/// are read from Redis at each scrape (whichever process runs the workers); everything else is
/// this process's counters.
struct MetricsController<Context: RequestContext>: Sendable {
    let client: RedisClient
    let workerGroup: String

    func addRoutes(to router: Router<Context>) {
        router.get("metrics") { _, _ in try await scrape() }
    }

    func scrape() async throws -> Response {
        // Every agent's names and figures are in the answer: a key limited to some agents may not read it.
        if Principal.allowedAgents != nil {
            throw APIError(.forbidden, "forbidden", detail: "GET /metrics shows every agent: it needs an admin key for all agents (agents=*)")
        }
        let registry = InsightsMetrics.registry
        var up = 1.0
        do {
            let report = try await Worker.lag(client: client, group: workerGroup)
            let agents = report.perAgent.keys.sorted()
            let lengths = try await client.pipeline(agents.map { RedisCommand("XLEN", key: AgentKeys($0).deadLetter) })
            for (agent, len) in zip(agents, lengths) {
                let lag = report.perAgent[agent]!
                registry.makeGauge(name: "insights_worker_lag", labels: [("agent", agent)]).set(Double(lag.lag))
                registry.makeGauge(name: "insights_worker_pending", labels: [("agent", agent)]).set(Double(lag.pending))
                registry.makeGauge(name: "insights_dead_letters", labels: [("agent", agent)]).set(Double(len.int ?? 0))
            }
        } catch {
            up = 0  // the scrape still answers: the process's own counters say what went wrong
        }
        registry.makeGauge(name: "insights_redis_up").set(up)
        var out: [UInt8] = []
        registry.emit(into: &out)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }
}
