import Logging
import Synchronization

/// A client for a plain Redis or a Redis Cluster, behind async APIs. `Sendable`; share one per process.
///
/// Which of the two it talks to is found on first use, not configured: the client asks a seed node
/// for its slot map (`CLUSTER SLOTS`); a plain Redis answers that cluster support is disabled, and
/// the client then sends everything to it through one bounded pool, as before clusters existed.
/// On a cluster it keeps the slot map (``ClusterRouter``) and a bounded pool per node, routes each
/// command by the hash slot of its keys (``RedisCommand/slot``), follows `MOVED` and `ASK`
/// redirections, retries `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN` and `LOADING` with backoff, splits
/// pipelines by node and reassembles the replies in the caller's order (docs/keys.md, "Redis Cluster").
///
/// Connections are opened lazily and reopened after failures, so the client survives a server
/// restart or a failover: the command that saw the failure throws ``RedisConnectionError`` (whether
/// it ran is unknown; callers retry, and ingest's de-dup makes the retry exact), later ones reconnect
/// — on a cluster, to the node that owns the slot after a fresh slot map.
public final class RedisClient: Sendable {
    /// The configuration this client connects with (its seeds, credentials and timeouts).
    public let configuration: RedisConfiguration
    private let router: ClusterRouter
    private let topology = Mutex<Topology?>(nil)
    private let logger: Logger

    enum Topology: Sendable {
        /// A plain Redis: everything goes to this pool.
        case single(ConnectionPool)
        /// A Redis Cluster: commands are routed by slot.
        case cluster
    }

    /// - Parameters:
    ///   - configuration: where to connect.
    ///   - poolSize: the most connections (and threads) this client opens to each node.
    public init(configuration: RedisConfiguration, poolSize: Int = 4, logger: Logger = Logger(label: "insights.redis")) {
        precondition(poolSize > 0, "poolSize must be positive")
        self.configuration = configuration
        self.logger = logger
        self.router = ClusterRouter(configuration: configuration, poolSize: poolSize, logger: logger)
    }

    // MARK: Commands

    /// Sends one command. Error replies throw ``RedisCommandError``.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await execute(command, options: CallOptions()).get()
    }

    /// Sends one command without keys built from text arguments: `try await client.send("PING")`.
    @discardableResult
    public func send(_ name: String, _ args: String...) async throws -> RESPValue {
        try await send(RedisCommand(name, args))
    }

    /// Sends one command whose first argument is a key: `try await client.send("HGET", key: k, "f")`.
    @discardableResult
    public func send(_ name: String, key: String, _ args: String...) async throws -> RESPValue {
        var command = RedisCommand(name, key: key)
        for a in args { command.append(a) }
        return try await send(command)
    }

    /// Sends one command with a subcommand whose first argument is a key: `send("XINFO", "GROUPS", key: k)`.
    @discardableResult
    public func send(_ name: String, _ subcommand: String, key: String, _ args: String...) async throws -> RESPValue {
        var command = RedisCommand(name, subcommand, key: key)
        for a in args { command.append(a) }
        return try await send(command)
    }

    /// Pipelines the commands: one round trip per node. Error replies stay in place as `.error`.
    /// On a plain Redis they run in order on one connection; on a cluster the commands of one slot
    /// keep their order (they go to one node), and a command redirected by the cluster is re-sent
    /// to the new owner after the rest of its node's batch.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await pipeline(commands, options: CallOptions())
    }

    /// Runs the commands as one `MULTI`/`EXEC` transaction and returns `EXEC`'s replies (one per
    /// command; error replies in place). Every command's keys must hash to one slot.
    public func transaction(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        var slot: HashSlot?
        for c in commands {
            try c.checkSingleSlot()
            if let s = c.slot {
                if let slot, slot != s {
                    throw RedisCommandError(message: "CROSSSLOT a transaction has keys in slots \(slot) and \(s)")
                }
                slot = s
            }
        }
        var exec = RedisCommand("EXEC")
        if let slot, let key = commands.first(where: { $0.slot == slot }) { exec = exec.routed(like: key) }
        let wrapped = [RedisCommand("MULTI").routed(like: exec)] + commands + [exec]
        for attempt in 0...ClusterRouter.maxRedirects {
            let replies = try await runTogether(wrapped)
            guard let last = replies.last else { return [] }
            if case .array(let results) = last { return results }
            // EXECABORT: a queued command was refused (MOVED/ASK while the slot moves); nothing ran.
            let redirected = replies.contains { if case .error(let m) = $0 { return ClusterRedirect(m) != nil } else { return false } }
            if redirected, attempt < ClusterRouter.maxRedirects {
                await router.refresh()
                try await Task.sleep(for: ClusterRouter.backoff(attempt))
                continue
            }
            if let error = replies.first(where: { if case .error = $0 { return true } else { return false } }) { try error.get() }
            throw RedisCommandError(message: "ERR unexpected EXEC reply: \(last)")
        }
        // Not reached: the last attempt either returns or throws above.
        throw RedisCommandError(message: "ERR the transaction was redirected more than \(ClusterRouter.maxRedirects) times")
    }

    /// Runs `body` with exclusive use of one connection, on that connection's own thread.
    /// Use it for a sequence that must share a connection. On a cluster the connection is to the
    /// node owning `routedBy`'s slot (any primary when nil); redirections are the caller's affair.
    public func withConnection<T: Sendable>(
        routedBy key: String? = nil, _ body: @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        switch try await resolve() {
        case .single(let pool): return try await pool.withConnection(body)
        case .cluster: return try await router.pool(for: key.map { HashSlot(key: $0) }).withConnection(body)
        }
    }

    // MARK: Scripts

    /// Loads scripts into the script cache of the Redis, or of every primary of a cluster (`SCRIPT LOAD`).
    public func load(_ scripts: [RedisScript]) async throws {
        for (_, replies) in try await onEachPrimary(scripts.map { RedisCommand("SCRIPT", "LOAD", $0.source) }) {
            for (script, reply) in zip(scripts, replies) {
                guard let sha = try reply.get().string, sha.utf8.count == 40, script.sha == nil || script.sha == sha else {
                    throw RedisCommandError(message: "ERR SCRIPT LOAD of \(script.name) returned an unexpected SHA")
                }
                script.digest.learn(sha)
            }
        }
    }

    /// Runs a script call (built with ``RedisScript/call(keys:)``). Throws error replies.
    /// If the node has forgotten the script (restart, failover, `SCRIPT FLUSH`), it is sent again with its source.
    @discardableResult
    public func evaluate(_ script: RedisScript, _ command: RedisCommand) async throws -> RESPValue {
        try await evaluate(script, [command])[0].get()
    }

    /// Pipelines several calls of one script. Calls answered `NOSCRIPT` did not run, so they
    /// are re-sent on the same connection as `EVAL` with the source; other error replies stay in place.
    public func evaluate(_ script: RedisScript, _ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await pipeline(commands, options: CallOptions(script: script))
    }

    /// ``evaluate(_:_:)-([RedisCommand])``, then `WAIT` on every connection that ran a call, so the
    /// calls' writes are on `replicaAcks.replicas` replicas of their primary before this returns.
    /// - Throws: ``ReplicationError`` when fewer replicas acknowledged within the timeout (the writes
    ///   are on the primary and may be lost in a failover: treat the calls as not acknowledged and retry).
    public func evaluate(_ script: RedisScript, _ commands: [RedisCommand], replicaAcks: ReplicaAcks?) async throws -> [RESPValue] {
        try await pipeline(commands, options: CallOptions(script: script, replicaAcks: replicaAcks))
    }

    // MARK: Every node

    /// Whether the server is a Redis Cluster (asks it on first use).
    public func isCluster() async throws -> Bool {
        if case .cluster = try await resolve() { return true }
        return false
    }

    /// The addresses (`host:port`) of the cluster's primaries, or the one Redis' description.
    public func primaries() async throws -> [String] {
        switch try await resolve() {
        case .single: return [configuration.redactedDescription]
        case .cluster: return router.primaries()
        }
    }

    /// The node a command with `key` goes to now: `host:port` of its primary on a cluster, the one
    /// Redis' description otherwise (benchmarks and status: how agents spread over the shards).
    public func primary(for key: String) async throws -> String {
        switch try await resolve() {
        case .single: return configuration.redactedDescription
        case .cluster: return ClusterRouter.describe(router.endpoint(for: HashSlot(key: key)))
        }
    }

    /// Pipelines the same commands on the one Redis, or on every primary of a cluster (`INFO`,
    /// `SCRIPT LOAD`, `CONFIG RESETSTAT`, `SCAN`, …): the replies per node, by address.
    public func onEachPrimary(_ commands: [RedisCommand]) async throws -> [(node: String, replies: [RESPValue])] {
        switch try await resolve() {
        case .single(let pool):
            return [(configuration.redactedDescription, try await pool.withConnection { try $0.pipeline(commands) })]
        case .cluster:
            var out: [(node: String, replies: [RESPValue])] = []
            for node in router.primaryEndpoints() {
                out.append((ClusterRouter.describe(node), try await router.pool(address: node).withConnection { try $0.pipeline(commands) }))
            }
            return out
        }
    }

    /// Every key matching a glob pattern, on the one Redis or on every primary (`SCAN … MATCH`).
    /// Not for request paths: it walks the whole key space.
    public func scanKeys(matching pattern: String, count: Int = 1000) async throws -> [String] {
        var keys: [String] = []
        let nodes: [ConnectionPool]
        switch try await resolve() {
        case .single(let pool): nodes = [pool]
        case .cluster: nodes = router.primaryEndpoints().map { router.pool(address: $0) }
        }
        for pool in nodes {
            var cursor = "0"
            repeat {
                let reply = try await pool.withConnection { [cursor] in
                    try $0.send(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", String(count))).get()
                }
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                    throw RedisCommandError(message: "ERR unexpected SCAN reply")
                }
                keys += parts[1].array?.compactMap(\.string) ?? []
                cursor = next
            } while cursor != "0"
        }
        return keys
    }

    /// Closes every connection and ends their threads; waiting callers get ``RedisConnectionError/closed``.
    public func close() async {
        await router.close()
    }

    // MARK: Routing

    /// The topology, found on first use: `CLUSTER SLOTS` on the seeds in turn.
    private func resolve() async throws -> Topology {
        if let known = topology.withLock({ $0 }) { return known }
        let found = try await router.discover()
        let topology = found ? Topology.cluster : .single(router.seedPool())
        if found, configuration.database != 0 {
            throw RedisConfigurationError("a Redis Cluster has only database 0 (the URL selects \(configuration.database))")
        }
        return self.topology.withLock { current in
            if let current { return current }
            current = topology
            if found { logger.info("redis cluster", metadata: ["primaries": "\(router.primaries().joined(separator: ","))"]) }
            return topology
        }
    }

    /// One command, with redirections followed; the reply, error replies included.
    private func execute(_ command: RedisCommand, options: CallOptions) async throws -> RESPValue {
        try command.checkSingleSlot()
        switch try await resolve() {
        case .single(let pool):
            return try await pool.withConnection { conn in try Self.run([command], options: options, asking: false, on: conn)[0] }
        case .cluster:
            return try await router.execute(command, options: options)
        }
    }

    private func pipeline(_ commands: [RedisCommand], options: CallOptions) async throws -> [RESPValue] {
        if commands.isEmpty { return [] }
        for c in commands { try c.checkSingleSlot() }
        switch try await resolve() {
        case .single(let pool):
            return try await pool.withConnection { conn in try Self.run(commands, options: options, asking: false, on: conn) }
        case .cluster:
            return try await router.pipeline(commands, options: options)
        }
    }

    /// Commands that must share one connection (MULTI … EXEC), routed by the first one's slot.
    private func runTogether(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        switch try await resolve() {
        case .single(let pool): return try await pool.withConnection { try $0.pipeline(commands) }
        case .cluster: return try await router.pool(for: commands.first?.slot).withConnection { try $0.pipeline(commands) }
        }
    }

    /// How a call is sent: the script its `EVALSHA`s belong to (for `NOSCRIPT`), and whether to wait
    /// for replicas after it.
    struct CallOptions: Sendable {
        var script: RedisScript?
        var replicaAcks: ReplicaAcks?
    }

    /// Pipelines `commands` on `conn` (each after `ASKING` when `asking`); calls of the script
    /// answered `NOSCRIPT` are re-sent at once as `EVAL` with the source, which caches it again.
    /// (`SCRIPT LOAD` then `EVALSHA` would leave a window: a `SCRIPT FLUSH` between the two
    /// answers `NOSCRIPT` a second time.) If the script's SHA-1 is not known yet, a `SCRIPT LOAD`
    /// goes before them and its answer is remembered, so later calls are `EVALSHA`s that run.
    /// With `replicaAcks`, `WAIT` follows on the same connection.
    static func run(_ commands: [RedisCommand], options: CallOptions, asking: Bool, on conn: RedisConnection) throws -> [RESPValue] {
        func send(_ batch: [RedisCommand]) throws -> [RESPValue] {
            guard asking else { return try conn.pipeline(batch) }
            let replies = try conn.pipeline(batch.flatMap { [RedisCommand("ASKING"), $0] })
            return stride(from: 1, to: replies.count, by: 2).map { replies[$0] }
        }
        var replies = try send(commands)
        if let script = options.script {
            let missing = replies.indices.filter {
                if case .error(let m) = replies[$0] { return m.hasPrefix("NOSCRIPT") }
                return false
            }
            if !missing.isEmpty {
                let learn = script.sha == nil
                var retried = try send((learn ? [RedisCommand("SCRIPT", "LOAD", script.source)] : []) + missing.map { script.inline(commands[$0]) })
                if learn, let sha = retried.removeFirst().string, sha.utf8.count == 40 { script.digest.learn(sha) }
                for (i, reply) in zip(missing, retried) { replies[i] = reply }
            }
        }
        if let acks = options.replicaAcks, replies.contains(where: { if case .error = $0 { false } else { true } }) {
            let reply = try conn.send(RedisCommand("WAIT", String(acks.replicas), String(acks.timeoutMs)))
            guard let count = try reply.get().int else { throw RedisCommandError(message: "ERR unexpected WAIT reply: \(reply)") }
            if count < acks.replicas { throw ReplicationError(acknowledged: count, required: acks) }
        }
        return replies
    }
}
