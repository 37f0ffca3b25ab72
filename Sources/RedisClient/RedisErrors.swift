/// An error reply from the server (`-ERR …`, `-NOSCRIPT …`, `-WRONGTYPE …`).
///
/// The connection is still healthy after one of these.
public struct RedisCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole error text, e.g. `NOSCRIPT No matching script. Please use EVAL.`
    public let message: String

    public init(message: String) { self.message = message }

    /// The error's first word, Redis' error code (`ERR`, `NOSCRIPT`, `WRONGTYPE`, `BUSYGROUP` …).
    public var code: String {
        String(message.prefix { $0 != " " })
    }

    /// The script cache does not hold the SHA (after a restart, failover or `SCRIPT FLUSH`).
    public var isNoScript: Bool { code == "NOSCRIPT" }

    /// The server refused the command for a passing reason; the same command can succeed later:
    /// `LOADING` (restarting, reading its AOF/RDB), `BUSY` (a slow script is running), `MASTERDOWN`,
    /// `READONLY` (a failover in progress), `TRYAGAIN` (a slot migrating), `CLUSTERDOWN`, and the
    /// redirections `MOVED` / `ASK` that ``RedisClient`` returns after following too many (a cluster
    /// still settling). The command did not run.
    public var isTransient: Bool {
        ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK"].contains(code)
    }

    public var description: String { "Redis error: \(message)" }
}

/// The connection failed: could not connect, I/O error, timeout, protocol error.
///
/// After one of these the hiredis context is dead; the pool replaces it on next use.
/// Whether the last command ran on the server is unknown.
public struct RedisConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case connect, io, timeout, eof, protocolError, closed, other
    }

    private let code: Code
    /// What hiredis (or the pool) said.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Could not establish the connection.
    public static func connect(_ message: String) -> Self { .init(.connect, message) }
    /// Reading or writing the socket failed.
    public static func io(_ message: String) -> Self { .init(.io, message) }
    /// The server did not answer within the command timeout.
    public static func timeout(_ message: String) -> Self { .init(.timeout, message) }
    /// The server closed the connection.
    public static func eof(_ message: String) -> Self { .init(.eof, message) }
    /// The reply could not be parsed.
    public static func protocolError(_ message: String) -> Self { .init(.protocolError, message) }
    /// The client was closed.
    public static let closed = Self(.closed, "client is closed")
    /// Anything else hiredis reports.
    public static func other(_ message: String) -> Self { .init(.other, message) }

    public var isTimeout: Bool { code == .timeout }
    /// The connection could not be opened: nothing was sent, so the command did not run.
    public var isConnectFailure: Bool { code == .connect }
    public var isClosed: Bool { code == .closed }

    public var description: String { "Redis connection error (\(code)): \(message)" }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }
}

/// The Redis URL or options are not usable.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid Redis configuration: \(message)" }
}

/// How many replicas must have a batch's writes before it counts as acknowledged (`WAIT`).
public struct ReplicaAcks: Sendable, Equatable {
    /// Replicas of the batch's primary that must acknowledge (1 ... the number of replicas).
    public var replicas: Int
    /// How long to wait for them, in milliseconds (below the command timeout).
    public var timeoutMs: Int

    public init(replicas: Int, timeoutMs: Int = 1000) {
        self.replicas = replicas
        self.timeoutMs = timeoutMs
    }
}

/// `WAIT` returned fewer replicas than required: the writes are on the primary only (a crash of it
/// before replication loses them). The call is not acknowledged; retrying it is safe where the
/// writes are idempotent (ingest drops event ids it has seen).
public struct ReplicationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let acknowledged: Int
    public let required: ReplicaAcks

    public init(acknowledged: Int, required: ReplicaAcks) {
        self.acknowledged = acknowledged
        self.required = required
    }

    public var description: String {
        "only \(acknowledged) of \(required.replicas) replica(s) acknowledged the writes within \(required.timeoutMs) ms (WAIT)"
    }
}
