import Foundation
import Hummingbird
import InsightsModel

/// The key a request was authenticated with, visible to the handlers of that request
/// (a task-local set by ``AuthMiddleware``; nil when authentication is off).
public struct Principal: Sendable {
    public let key: APIKey
    let index: Int
    let limiter: RateLimiter
    /// Effective ingest limit (events/s; 0: unlimited) and bucket size.
    let rate: Double
    let burst: Double

    @TaskLocal public static var current: Principal?

    /// nil: every agent (no key restriction, or authentication off).
    static var allowedAgents: Set<String>? {
        guard let p = current, case .only(let set) = p.key.agents else { return nil }
        return set
    }

    static func allows(_ agent: String) -> Bool { current?.key.agents.allows(agent) ?? true }

    /// 403 if an agent is outside the key's list.
    static func checkAgents(_ agents: some Sequence<String>) throws {
        guard let p = current else { return }
        for a in agents where !p.key.agents.allows(a) {
            throw APIError(.forbidden, "agent not allowed", detail: "the key '\(p.key.name)' may not access agent '\(a)'")
        }
    }

    /// The `agent_id` strings of a raw batch (array or `{"events": [...]}`), including those of
    /// events that failed to decode: a batch naming a foreign agent is refused even if that event
    /// is invalid. Used only when a key is limited and an event failed (a second parse).
    static func agentIDs(inRawBatch json: Data) -> [String] {
        guard let root = try? JSONValue.parse(json) else { return [] }
        let elements = root.arrayValue ?? root["events"]?.arrayValue ?? []
        return elements.compactMap { $0["agent_id"]?.stringValue }
    }

    /// Before an ingest writes anything: every agent must be allowed (else 403) and the key's
    /// bucket must hold `events` tokens (else 429 with Retry-After). All or nothing.
    static func authorizeIngest(agents: some Sequence<String>, events: Int) throws {
        guard let p = current else { return }
        try checkAgents(agents)
        guard p.rate > 0 else { return }
        switch p.limiter.admit(p.index, cost: events, rate: p.rate, burst: p.burst, now: p.limiter.now()) {
        case .admitted: return
        case .refused(let seconds):
            var h = HTTPFields()
            h[.retryAfter] = String(seconds)
            throw APIError(.tooManyRequests, "rate limit exceeded", detail: """
                the key '\(p.key.name)' may ingest \(APIKey.number(p.rate)) events/s (burst \(APIKey.number(p.burst))); \
                this batch of \(events) events was not written: retry in \(seconds) s
                """, headers: h)
        }
    }
}

/// Which credential a route needs.
public enum RouteAccess: Sendable, Equatable {
    /// No key: `/health`, the dashboard page and its files, `/openapi.json` (they hold no data).
    case open
    /// Any valid key, whatever its scopes (`/ready`).
    case anyKey
    case scope(Scope)
    /// Not in the table: refused to every key (a new route is never open by accident).
    case unlisted

    /// The route table is the OpenAPI document's: each operation declares its `x-insights-access`
    /// (`open`, `any-key`, `read`, `ingest`, `admin`), so a route is documented and protected in one
    /// place. HEAD is GET. Paths with `.`/`..`/empty segments or percent-escapes never match, nor
    /// does anything undocumented or without a known access value.
    public static func of(method: HTTPRequest.Method, path: String) -> RouteAccess {
        of(method: method, path: path, routes: OpenAPIDocument.routes)
    }

    static func of(method: HTTPRequest.Method, path: String, routes: DocumentedRoutes) -> RouteAccess {
        guard path.hasPrefix("/"), !path.contains("%") else { return .unlisted }
        if path != "/" {
            let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return .unlisted }
        }
        let name = method == .head ? "GET" : method.rawValue
        switch routes.access(method: name, path: path) {
        case "open": return .open
        case "any-key": return .anyKey
        case let value?: return Scope(rawValue: value).map { .scope($0) } ?? .unlisted
        case nil: return .unlisted
        }
    }
}

/// Checks `Authorization: Bearer <key>` on every route but the open ones: 401 (with
/// `WWW-Authenticate: Bearer`) for a missing or unknown key, 403 for a missing scope, an
/// unlisted route or an `agent_id` query parameter outside the key's agents. Then runs the
/// handler with ``Principal/current`` set. With no keys configured it lets everything through.
public struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: APIKeyStore
    let limiter: RateLimiter

    public init(store: APIKeyStore, limiter: RateLimiter = RateLimiter()) {
        self.store = store
        self.limiter = limiter
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if store.isEmpty { return try await next(request, context) }
        let access = RouteAccess.of(method: request.method, path: request.uri.path)
        if access == .open { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("missing API key", detail: "send the header Authorization: Bearer <key>", invalid: false)
        }
        guard let secret = Self.secret(header) else {
            throw Self.unauthorized("missing API key", detail: "the Authorization header must be: Bearer <key> (or Basic with the key as user name)",
                                    invalid: true)
        }
        guard let (index, key) = store.authenticate(secret) else {
            throw Self.unauthorized("invalid API key", detail: "the key is not known to this service", invalid: true)
        }
        switch access {
        case .open, .anyKey: break
        case .unlisted:
            throw APIError(.forbidden, "forbidden", detail: "no scope grants \(request.method) \(request.uri.path)")
        case .scope(let scope):
            guard key.scopes.contains(scope) else {
                throw APIError(.forbidden, "missing scope", detail: "the key '\(key.name)' lacks the scope '\(scope.rawValue)' needed for \(request.method) \(request.uri.path)")
            }
        }
        let rate: Double
        switch key.rate {
        case .default: rate = store.defaultRate
        case .unlimited: rate = 0
        case .perSecond(let r): rate = r
        }
        let burst: Double = key.burst ?? Swift.max(1, 2 * rate)
        let principal = Principal(key: key, index: index, limiter: limiter, rate: rate, burst: burst)
        return try await Principal.$current.withValue(principal) {
            // Every agent_id the request names (a repeated parameter too) must be well-formed (400, as
            // without keys) and the key's (403).
            let agents = request.uri.queryParameters.getAll("agent_id").map { String($0) }
            for a in agents where !a.isEmpty { try QueryParameters.checkID(a, parameter: "agent_id") }
            try Principal.checkAgents(agents)
            return try await next(request, context)
        }
    }

    /// The key of `Bearer <key>`, or of `Basic base64(<key>:<anything>)`: how Segment's SDKs send
    /// their write key (docs/ingest.md); nil for anything else.
    static func secret(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "bearer": return value.isEmpty ? nil : value
        case "basic":
            guard let raw = Data(base64Encoded: value), let text = String(data: raw, encoding: .utf8) else { return nil }
            let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return user.isEmpty ? nil : user
        default: return nil
        }
    }

    static func unauthorized(_ error: String, detail: String, invalid: Bool) -> APIError {
        var h = HTTPFields()
        h[.wwwAuthenticate] = invalid ? #"Bearer realm="insights", error="invalid_token""# : #"Bearer realm="insights""#
        return APIError(.unauthorized, error, detail: detail, headers: h)
    }
}
