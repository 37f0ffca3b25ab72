import Hummingbird
import InsightsQuery
import InsightsWorker
import RedisClient

struct AgentsResponse: Codable, Sendable, Equatable {
    var agents: [String]
}

struct AgentStatus: Codable, Sendable, Equatable {
    var lag: Int
    var pending: Int
}

/// `GET /api/v1/status`: lag + pending are the entries the worker group has not finished.
struct StatusResponse: Codable, Sendable, Equatable {
    var redis: String
    var lag: Int?
    var pending: Int?
    var agents: [String: AgentStatus]?
    var error: String?
}

struct HealthResponse: Codable, Sendable, Equatable {
    var status: String
    var redis: String?
}

/// `/health`, `/ready`, `/api/v1/status` and `/api/v1/agents`.
struct StatusController<Context: RequestContext>: Sendable {
    let client: RedisClient
    let query: MetricsQuery
    /// The worker group whose lag `/api/v1/status` reports.
    let workerGroup: String

    func addRoutes(to router: Router<Context>) {
        router.get("health") { _, _ in JSON.response(HealthResponse(status: "ok")) }
        router.get("ready") { _, _ in
            do {
                let reply = try await client.send("PING")
                guard reply.string == "PONG" else { throw APIError(.serviceUnavailable, "redis not ready") }
                return JSON.response(HealthResponse(status: "ok", redis: "ok"))
            } catch {
                return JSON.response(HealthResponse(status: "unavailable", redis: "unreachable"), status: .serviceUnavailable)
            }
        }
        // A key limited to some agents sees only those (docs/security.md).
        router.get("api/v1/agents") { _, _ in JSON.response(AgentsResponse(agents: try await query.agents().filter(Principal.allows))) }
        router.get("api/v1/status") { _, _ in
            do {
                let report = try await Worker.lag(client: client, group: workerGroup)
                var agents = report.perAgent.mapValues { AgentStatus(lag: $0.lag, pending: $0.pending) }
                var lag = report.total.lag, pending = report.total.pending
                if Principal.allowedAgents != nil {  // an admin key limited to some agents: only theirs, totals over them
                    agents = agents.filter { Principal.allows($0.key) }
                    lag = agents.values.reduce(0) { $0 + $1.lag }
                    pending = agents.values.reduce(0) { $0 + $1.pending }
                }
                return JSON.response(StatusResponse(redis: "ok", lag: lag, pending: pending, agents: agents))
            } catch let e as RedisConnectionError {
                var h = HTTPFields()
                h[.retryAfter] = "1"
                return JSON.response(StatusResponse(redis: "unreachable", error: e.message), status: .serviceUnavailable, headers: h)
            }
        }
    }
}
