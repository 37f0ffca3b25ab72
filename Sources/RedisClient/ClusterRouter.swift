import Logging
import Synchronization

/// The cluster half of ``RedisClient``: the slot map, a pool per node, and redirections.
///
/// The slot map comes from `CLUSTER SLOTS` (Redis 7.0 has `CLUSTER SHARDS` too; `SLOTS` answers the
/// one question routing asks, which node serves a slot, in a smaller reply). It is refreshed when a
/// node answers `MOVED` (the map is wrong), after a connection to a node failed (a failover may have
/// promoted a replica), and every ``refreshInterval`` otherwise. Each node gets its own bounded
/// pool, opened lazily, so a client holds at most `poolSize` connections per node it talks to.
final class ClusterRouter: Sendable {
    /// The most redirections (and transient-error retries) one command follows before its last
    /// reply is returned as is: a slot moves once at a time, so more means the cluster is unsettled.
    static let maxRedirects = 16
    /// How often the slot map is refreshed when nothing prompted it.
    static let refreshInterval: Duration = .seconds(10)

    private let base: RedisConfiguration
    private let poolSize: Int
    private let logger: Logger
    private let pools = Mutex<[RedisConfiguration.Endpoint: ConnectionPool]>([:])
    private let map = Mutex(SlotMap())

    /// Which node serves each slot.
    struct SlotMap: Sendable {
        /// Per slot, an index into `nodes`; -1 while unknown.
        var owner = [Int16](repeating: -1, count: HashSlot.count)
        /// The primaries, in the order `CLUSTER SLOTS` named them.
        var nodes: [RedisConfiguration.Endpoint] = []
        var refreshedAt: ContinuousClock.Instant = .now
        /// Set by MOVED or a lost connection: refresh before the next routing decision.
        var stale = false
        /// A refresh is under way (one caller refreshes; the others route with the current map).
        var refreshing = false

        mutating func assign(_ slot: Int, to node: RedisConfiguration.Endpoint) {
            let index: Int
            if let i = nodes.firstIndex(of: node) {
                index = i
            } else {
                nodes.append(node)
                index = nodes.count - 1
            }
            owner[slot] = Int16(index)
        }
    }

    init(configuration: RedisConfiguration, poolSize: Int, logger: Logger) {
        self.base = configuration
        self.poolSize = poolSize
        self.logger = logger
    }

    // MARK: Pools

    /// The pool of the first seed: the only pool on a plain Redis.
    func seedPool() -> ConnectionPool { pool(address: base.endpoint) }

    func pool(address endpoint: RedisConfiguration.Endpoint) -> ConnectionPool {
        pools.withLock { pools in
            if let pool = pools[endpoint] { return pool }
            var configuration = base
            configuration.endpoint = endpoint
            configuration.additionalSeeds = []
            let pool = ConnectionPool(configuration: configuration, poolSize: poolSize, logger: logger)
            pools[endpoint] = pool
            return pool
        }
    }

    /// The pool of the node serving `slot`; any primary for a command without keys.
    func pool(for slot: HashSlot?) -> ConnectionPool { pool(address: endpoint(for: slot)) }

    func endpoint(for slot: HashSlot?) -> RedisConfiguration.Endpoint {
        map.withLock { m in
            if let slot, m.owner[Int(slot.rawValue)] >= 0 { return m.nodes[Int(m.owner[Int(slot.rawValue)])] }
            return m.nodes.randomElement() ?? base.endpoint
        }
    }

    /// The primaries that serve slots, in slot order.
    func primaryEndpoints() -> [RedisConfiguration.Endpoint] {
        map.withLock { m in
            var seen = Set<Int16>()
            return m.owner.compactMap { i in
                guard i >= 0, seen.insert(i).inserted else { return nil }
                return m.nodes[Int(i)]
            }
        }
    }

    /// The primaries as `host:port`, in slot order.
    func primaries() -> [String] { primaryEndpoints().map(Self.describe) }

    func close() async {
        let all = pools.withLock { Array($0.values) }
        for pool in all { await pool.close() }
    }

    // MARK: The slot map

    /// Asks the seeds in turn for the slot map. True on a cluster (the map is installed), false on
    /// a plain Redis. Throws the last connection error when no seed answers.
    func discover() async throws -> Bool {
        var lastError: any Error = RedisConnectionError.connect("no seed to connect to")
        for seed in base.seeds {
            do {
                let reply = try await pool(address: seed).withConnection { try $0.send(RedisCommand("CLUSTER", "SLOTS")) }
                if case .error(let message) = reply {
                    if message.contains("cluster support disabled") { return false }
                    if message.hasPrefix("NOPERM") {
                        logger.warning("CLUSTER SLOTS is not permitted: working as with a plain Redis", metadata: ["error": "\(message)"])
                        return false
                    }
                    throw RedisCommandError(message: message)
                }
                try install(reply, from: seed)
                return true
            } catch let error as RedisConnectionError {
                lastError = error
            }
        }
        throw lastError
    }

    /// Reads the slot map again from a primary (or a seed). A failure keeps the current map.
    func refresh() async {
        let candidates = map.withLock { m -> [RedisConfiguration.Endpoint]? in
            if m.refreshing { return nil }
            m.refreshing = true
            return m.nodes + base.seeds.filter { !m.nodes.contains($0) }
        }
        guard let candidates else { return }
        defer { map.withLock { $0.refreshing = false } }
        for node in candidates {
            do {
                let reply = try await pool(address: node).withConnection { try $0.send(RedisCommand("CLUSTER", "SLOTS")) }
                try install(reply, from: node)
                return
            } catch {
                continue
            }
        }
        logger.warning("no cluster node answered CLUSTER SLOTS; keeping the slot map")
    }

    /// Refreshes the map when a redirection or a failure made it stale, or when it is old.
    func refreshIfDue() async {
        let due = map.withLock { m in !m.refreshing && (m.stale || ContinuousClock.now - m.refreshedAt > Self.refreshInterval) }
        if due { await refresh() }
    }

    private func markStale() { map.withLock { $0.stale = true } }

    /// Installs a `CLUSTER SLOTS` reply: `[[start, end, [ip, port, id, …], replicas…], …]`.
    private func install(_ reply: RESPValue, from node: RedisConfiguration.Endpoint) throws {
        guard let ranges = try reply.get().array else { throw RedisCommandError(message: "ERR unexpected CLUSTER SLOTS reply") }
        var fresh = SlotMap()
        for range in ranges {
            guard let r = range.array, r.count >= 3, let start = r[0].int, let end = r[1].int,
                  let primary = r[2].array, primary.count >= 2, let port = primary[1].int,
                  start >= 0, end < HashSlot.count, start <= end
            else { throw RedisCommandError(message: "ERR unexpected CLUSTER SLOTS entry: \(range)") }
            var host = primary[0].string ?? ""
            if host.isEmpty || host == "?" { host = Self.host(of: node) ?? "127.0.0.1" }
            let endpoint = RedisConfiguration.Endpoint.tcp(host: host, port: port)
            for slot in start...end { fresh.assign(slot, to: endpoint) }
        }
        guard !fresh.nodes.isEmpty else { throw RedisCommandError(message: "CLUSTERDOWN the cluster serves no slot yet") }
        map.withLock { m in
            fresh.refreshing = m.refreshing
            m = fresh
        }
    }

    private func moved(slot: Int, to endpoint: RedisConfiguration.Endpoint) {
        map.withLock { m in
            m.assign(slot, to: endpoint)
            m.stale = true  // one slot moved: others may have too (a resharding or a failover)
        }
    }

    // MARK: Commands

    /// One command, routed by slot, with redirections followed; the final reply, error replies included.
    func execute(_ command: RedisCommand, options: RedisClient.CallOptions) async throws -> RESPValue {
        await refreshIfDue()
        var target = endpoint(for: command.slot)
        var asking = false
        var attempt = 0
        while true {
            let reply: RESPValue
            do {
                reply = try await pool(address: target).withConnection { [asking] conn in
                    try RedisClient.run([command], options: options, asking: asking, on: conn)[0]
                }
            } catch let error as RedisConnectionError {
                markStale()
                // A connection that could not even be opened sent nothing: after a fresh map (a
                // failover may have promoted a replica) the command can go to the new owner.
                guard error.isConnectFailure, attempt < Self.maxRedirects else { throw error }
                attempt += 1
                try await Task.sleep(for: Self.backoff(attempt))
                await refresh()
                target = endpoint(for: command.slot)
                asking = false
                continue
            }
            asking = false
            guard case .error(let message) = reply, attempt < Self.maxRedirects, let redirect = ClusterRedirect(message) else {
                return reply
            }
            attempt += 1
            switch redirect {
            case .moved(let slot, let address):
                let to = Self.endpoint(address, near: target) ?? target
                moved(slot: slot, to: to)
                target = to
            case .ask(let address):
                if command.isScriptCall {
                    // Never a script on the importing node: keys not migrated yet would look absent
                    // there. Wait until the slot is settled (MOVED), like lua/common.lua's probe.
                    try await Task.sleep(for: Self.backoff(attempt))
                    target = endpoint(for: command.slot)
                    continue
                }
                target = Self.endpoint(address, near: target) ?? target
                asking = true
            case .retry:
                try await Task.sleep(for: Self.backoff(attempt))
                await refresh()
                target = endpoint(for: command.slot)
            }
        }
    }

    /// The commands split by node, one pipeline per node run concurrently, replies reassembled in
    /// the caller's order; any reply that is a redirection is re-sent alone with ``execute(_:options:)``.
    func pipeline(_ commands: [RedisCommand], options: RedisClient.CallOptions) async throws -> [RESPValue] {
        await refreshIfDue()
        var groups: [RedisConfiguration.Endpoint: [Int]] = [:]
        for (i, c) in commands.enumerated() { groups[endpoint(for: c.slot), default: []].append(i) }
        var replies = [RESPValue](repeating: .null, count: commands.count)
        do {
            if groups.count == 1, let (node, indices) = groups.first {
                let batch = indices.map { commands[$0] }
                let r = try await pool(address: node).withConnection { try RedisClient.run(batch, options: options, asking: false, on: $0) }
                for (i, reply) in zip(indices, r) { replies[i] = reply }
            } else {
                try await withThrowingTaskGroup(of: ([Int], [RESPValue]).self) { group in
                    for (node, indices) in groups {
                        let batch = indices.map { commands[$0] }
                        let pool = pool(address: node)
                        group.addTask {
                            (indices, try await pool.withConnection { try RedisClient.run(batch, options: options, asking: false, on: $0) })
                        }
                    }
                    for try await (indices, r) in group {
                        for (i, reply) in zip(indices, r) { replies[i] = reply }
                    }
                }
            }
        } catch let error as RedisConnectionError {
            markStale()
            throw error
        }
        for i in replies.indices {
            if case .error(let message) = replies[i], ClusterRedirect(message) != nil {
                replies[i] = try await execute(commands[i], options: options)
            }
        }
        return replies
    }

    // MARK: Helpers

    /// Exponential backoff from 20 ms, at most 500 ms a step (16 steps ≈ 6 s in all).
    static func backoff(_ attempt: Int) -> Duration {
        .milliseconds(min(500, 20 << min(attempt, 10)))
    }

    /// `host:port` as an endpoint; an empty host (`:6380`, a node that does not know its address)
    /// means the host of `near`.
    static func endpoint(_ text: String, near: RedisConfiguration.Endpoint) -> RedisConfiguration.Endpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = Self.host(of: near) ?? "127.0.0.1" }
        return .tcp(host: host, port: port)
    }

    static func host(of endpoint: RedisConfiguration.Endpoint) -> String? {
        if case .tcp(let host, _) = endpoint { return host }
        return nil
    }

    static func describe(_ endpoint: RedisConfiguration.Endpoint) -> String {
        switch endpoint {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return "unix://\(path)"
        }
    }
}

/// What a cluster node's error reply asks the client to do.
enum ClusterRedirect: Equatable {
    /// `MOVED <slot> <host:port>`: the slot lives there now; update the map and resend.
    case moved(slot: Int, address: String)
    /// `ASK <slot> <host:port>`: this one command goes there, after `ASKING` (the slot is migrating).
    /// Not for a script call: it is retried on the owner until the migration ends (docs/keys.md).
    case ask(address: String)
    /// `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `LOADING`, `READONLY`: the command did not run; retry later.
    case retry

    init?(_ message: String) {
        let parts = message.split(separator: " ", maxSplits: 3)
        switch parts.first {
        case "MOVED" where parts.count >= 3:
            guard let slot = Int(parts[1]) else { return nil }
            self = .moved(slot: slot, address: String(parts[2]))
        case "ASK" where parts.count >= 3:
            self = .ask(address: String(parts[2]))
        case "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING", "READONLY":
            self = .retry
        default:
            return nil
        }
    }
}
