/// Where and how to connect to Redis.
///
/// Built from a URL: `redis://[user:pass@]host:port[,host:port…][/db]` or `unix:///path/to/sock[?db=N]`.
/// Several `host:port` are seeds: nodes of one Redis Cluster, tried in turn for its slot map (any
/// one of them is enough; more help when one is down at start). A plain Redis needs one.
public struct RedisConfiguration: Sendable, Equatable {
    /// TCP host and port, or a unix socket path.
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// The (first) node to connect to.
    public var endpoint: Endpoint
    /// More cluster nodes to ask for the slot map when ``endpoint`` does not answer.
    public var additionalSeeds: [Endpoint] = []
    /// ``endpoint`` and ``additionalSeeds``.
    public var seeds: [Endpoint] { [endpoint] + additionalSeeds }
    public var username: String?
    public var password: String?
    public var database: Int
    /// How long to wait for the TCP/unix connect, in seconds.
    public var connectTimeout: Double
    /// How long any single command may take before the connection is declared dead, in seconds.
    /// Blocking commands (`XREADGROUP BLOCK`) must block for less than this.
    public var commandTimeout: Double

    public init(
        endpoint: Endpoint,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Double = 2,
        commandTimeout: Double = 5
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses a Redis URL.
    /// - Parameter url: `redis://[user:pass@]host[:port][/db]` (port defaults to 6379) or `unix:///path[?db=N]`.
    /// - Throws: ``RedisConfigurationError`` naming what is wrong.
    public init(url: String) throws(RedisConfigurationError) {
        if url.hasPrefix("unix://") {
            var rest = String(url.dropFirst("unix://".count))
            var db = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = String(rest[..<q])
                for pair in query.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2, kv[0] == "db", let n = Int(kv[1]), n >= 0 else {
                        throw RedisConfigurationError("unsupported query '\(pair)' in unix URL (only db=N)")
                    }
                    db = n
                }
            }
            guard rest.hasPrefix("/") else { throw RedisConfigurationError("unix URL needs an absolute path: unix:///path") }
            self.init(endpoint: .unix(path: rest), database: db)
            return
        }
        guard url.hasPrefix("redis://") else {
            throw RedisConfigurationError("URL must start with redis:// or unix:// (got '\(url)')")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var user: String?
        var pass: String?
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = cred.firstIndex(of: ":") {
                let u = String(cred[..<colon])
                user = u.isEmpty ? nil : Self.percentDecode(u)
                pass = Self.percentDecode(String(cred[cred.index(after: colon)...]))
            } else {
                pass = Self.percentDecode(String(cred))
            }
        }
        var db = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !dbText.isEmpty {
                guard let n = Int(dbText), n >= 0 else { throw RedisConfigurationError("database must be a number (got '\(dbText)')") }
                db = n
            }
        }
        var endpoints: [Endpoint] = []
        for hostPort in rest.split(separator: ",", omittingEmptySubsequences: false) {
            endpoints.append(try Self.tcpEndpoint(String(hostPort)))
        }
        self.init(endpoint: endpoints[0], username: user, password: pass, database: db)
        additionalSeeds = Array(endpoints.dropFirst())
    }

    /// `host[:port]` or `[v6]:port`; the port defaults to 6379.
    private static func tcpEndpoint(_ text: String) throws(RedisConfigurationError) -> Endpoint {
        var host = text
        var port = 6379
        if host.hasPrefix("[") {  // [::1]:6379
            guard let close = host.firstIndex(of: "]") else { throw RedisConfigurationError("unterminated IPv6 address") }
            let after = host[host.index(after: close)...]
            let inner = String(host[host.index(after: host.startIndex)..<close])
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { throw RedisConfigurationError("bad port '\(after.dropFirst())'") }
                port = p
            }
            host = inner
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else {
                throw RedisConfigurationError("bad port '\(host[host.index(after: colon)...])'")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw RedisConfigurationError("missing host") }
        guard (1...65535).contains(port) else { throw RedisConfigurationError("port \(port) out of range") }
        return .tcp(host: host, port: port)
    }

    private static func percentDecode(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The URL without the password, for logs.
    public var redactedDescription: String {
        switch endpoint {
        case .unix(let path): return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        case .tcp:
            let cred = password == nil ? "" : "\(username ?? ""):***@"
            let hosts = seeds.map(ClusterRouter.describe).joined(separator: ",")
            return "redis://\(cred)\(hosts)" + (database == 0 ? "" : "/\(database)")
        }
    }
}
