import Metrics

/// The Redis client's own metrics (swift-metrics; the front exports them at `GET /metrics`,
/// docs/operations.md, *Metrics*). Created on first use, after the process bootstrapped its
/// metrics backend.
public enum RedisMetrics {
    public enum ErrorKind: String, Sendable, CaseIterable {
        /// No connection, or it broke during the command.
        case connection
        /// Redis answered with an error (a script's refusal, NOSCRIPT, LOADING, …).
        case command
    }

    static let connectionErrors = Counter(label: "insights_redis_errors_total", dimensions: [("kind", ErrorKind.connection.rawValue)])
    static let commandErrors = Counter(label: "insights_redis_errors_total", dimensions: [("kind", ErrorKind.command.rawValue)])
    /// New connections after a lost one.
    static let reconnects = Counter(label: "insights_redis_reconnects_total")

    static func recordError(_ kind: ErrorKind) { (kind == .connection ? connectionErrors : commandErrors).increment() }
    static func recordReconnect() { reconnects.increment() }
}
