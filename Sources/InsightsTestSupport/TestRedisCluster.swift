import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import RedisClient

/// A private Redis Cluster for one test suite: `masters` primaries with `replicas` replicas each
/// (`redis-server --cluster-enabled yes` on free loopback ports, one temp dir, joined with
/// `redis-cli --cluster create`), stopped by PID. Nothing else's data is touched.
public final class TestRedisCluster: Sendable {
    /// One node of the cluster.
    public final class Node: Sendable {
        public let port: Int
        let process = ProcessBox()
        let arguments: [String]

        init(port: Int, arguments: [String]) {
            self.port = port
            self.arguments = arguments
        }

        /// `127.0.0.1:<port>`.
        public var address: String { "127.0.0.1:\(port)" }
        /// The redis-server PID.
        public var pid: Int32 { process.pid }

        /// Stops the node (SIGTERM, or SIGKILL with `kill: true`) and waits for it to exit.
        public func stop(kill: Bool = false) { process.stop(signal: kill ? SIGKILL : SIGTERM) }

        /// Starts the node again (same port, directory and nodes.conf: it rejoins the cluster).
        public func start() throws { try process.spawn(arguments) }
    }

    /// The temp directory holding every node's files.
    public let directory: String
    public let nodes: [Node]

    /// Starts the nodes, creates the cluster and waits until every node reports `cluster_state:ok`
    /// and every replica is in sync with its primary.
    public init(masters: Int = 3, replicas: Int = 1, nodeTimeoutMs: Int = 2000) throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("insights-cluster-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        directory = dir
        self.nodes = try Self.launch(count: masters * (1 + replicas), in: dir, nodeTimeoutMs: nodeTimeoutMs)
        let create = try ProcessBox.run(
            [try Self.findTool("redis-cli"), "--cluster", "create"] + nodes.map(\.address)
                + ["--cluster-replicas", String(replicas), "--cluster-yes"])
        guard create == 0 else { throw RedisConfigurationError("redis-cli --cluster create failed (exit \(create)); see \(dir)") }
        try waitUntilHealthy(timeout: 30)
    }

    /// Starts `count` nodes on free ports and waits until each answers PING. A node that does not
    /// start (a port taken between the check and its bind) makes it start them all again on others.
    private static func launch(count: Int, in dir: String, nodeTimeoutMs: Int) throws -> [Node] {
        let server = try findTool("redis-server")
        var lastError: any Error = RedisConfigurationError("no attempt")
        for _ in 0..<3 {
            var nodes: [Node] = []
            for port in try freePorts(count) {
                let nodeDir = dir + "/\(port)"
                try FileManager.default.createDirectory(atPath: nodeDir, withIntermediateDirectories: true)
                nodes.append(Node(port: port, arguments: [
                    server, "--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                    "--cluster-config-file", nodeDir + "/nodes.conf", "--cluster-node-timeout", String(nodeTimeoutMs),
                    "--dir", nodeDir, "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--daemonize", "no",
                    "--logfile", nodeDir + "/redis.log",
                ]))
            }
            do {
                for node in nodes { try node.start() }
                for node in nodes {
                    do {
                        try waitFor(node.port, timeout: 10) { (try? $0.send(RedisCommand("PING")).string) == "PONG" }
                    } catch {
                        let log = (try? String(contentsOfFile: dir + "/\(node.port)/redis.log", encoding: .utf8)) ?? "(no log)"
                        throw RedisConfigurationError("\(error): its log ends \(log.suffix(600))")
                    }
                }
                return nodes
            } catch {
                lastError = error
                for node in nodes { node.stop() }
            }
        }
        throw lastError
    }

    deinit {
        for node in nodes { node.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A URL naming two of the nodes as seeds.
    public var url: String { "redis://" + nodes.prefix(2).map(\.address).joined(separator: ",") }

    /// A configuration with the given command timeout.
    public func configuration(commandTimeout: Double = 5) throws -> RedisConfiguration {
        var c = try RedisConfiguration(url: url)
        c.connectTimeout = 1
        c.commandTimeout = commandTimeout
        return c
    }

    /// Waits until every running node says `cluster_state:ok`, agrees on which nodes are primaries,
    /// and every replica reports its link to the primary up.
    public func waitUntilHealthy(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? isHealthy()) == true { return }
            usleep(100_000)
        }
        throw RedisConfigurationError("the test cluster did not become healthy within \(timeout) s (see \(directory))")
    }

    private func isHealthy() throws -> Bool {
        var views = Set<String>()
        for node in nodes where node.pid > 0 {
            let conn = try Self.connect(node.port)
            guard try conn.send(RedisCommand("CLUSTER", "INFO")).string?.contains("cluster_state:ok") == true else { return false }
            let info = try conn.send(RedisCommand("INFO", "replication")).string ?? ""
            if info.contains("role:slave"), !info.contains("master_link_status:up") { return false }
            views.insert(primaryPorts(conn).sorted().map(String.init).joined(separator: ","))
        }
        return views.count == 1
    }

    /// Ports of the primaries that serve slots, as `conn`'s node sees them.
    private func primaryPorts(_ conn: RedisConnection) -> [Int] {
        guard let text = try? conn.send(RedisCommand("CLUSTER", "NODES")).string else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 9, f[2].contains("master"), !f[2].contains("fail"),
                  let port = f[1].split(separator: "@").first?.split(separator: ":").last.flatMap({ Int($0) })
            else { return nil }
            return port
        }
    }

    /// The node serving `slot` now, as the first running node sees it.
    public func owner(of slot: HashSlot) async throws -> Node {
        try await Self.offPool { try self.ownerNow(of: slot) }
    }

    /// The running primaries.
    public func primaries() async throws -> [Node] {
        try await Self.offPool { try self.primariesNow() }
    }

    /// A replica of `primary`.
    public func replica(of primary: Node) async throws -> Node {
        try await Self.offPool { try self.replicaNow(of: primary) }
    }

    private func ownerNow(of slot: HashSlot) throws -> Node {
        for node in nodes where node.pid > 0 {
            guard let conn = try? Self.connect(node.port),
                  let ranges = try? conn.send(RedisCommand("CLUSTER", "SLOTS")).array else { continue }
            for range in ranges {
                guard let r = range.array, r.count >= 3, let start = r[0].int, let end = r[1].int,
                      (start...end).contains(Int(slot.rawValue)), let port = r[2].array?[1].int,
                      let owner = nodes.first(where: { $0.port == port }) else { continue }
                return owner
            }
        }
        throw RedisConfigurationError("no node serves slot \(slot)")
    }

    private func primariesNow() throws -> [Node] {
        guard let any = nodes.first(where: { $0.pid > 0 }) else { return [] }
        let ports = primaryPorts(try Self.connect(any.port))
        return nodes.filter { ports.contains($0.port) }
    }

    private func replicaNow(of primary: Node) throws -> Node {
        for node in nodes where node.pid > 0 && node.port != primary.port {
            let info = try Self.connect(node.port).send(RedisCommand("INFO", "replication")).string ?? ""
            if info.contains("role:slave"), info.contains("master_port:\(primary.port)\r") { return node }
        }
        throw RedisConfigurationError("\(primary.address) has no replica")
    }

    /// A slot migration in progress, as `redis-cli --cluster reshard` runs one.
    public struct Migration: Sendable {
        public let slot: HashSlot
        public let source: Node
        public let target: Node
        let targetID: String
    }

    /// Starts moving `slot` from its owner to another primary: `SETSLOT IMPORTING` on the target,
    /// `MIGRATING` on the source (no key moved yet).
    public func beginMigration(of slot: HashSlot) async throws -> Migration {
        let source = try await owner(of: slot)
        guard let target = try await primaries().first(where: { $0.port != source.port }) else {
            throw RedisConfigurationError("no other primary to migrate to")
        }
        guard let sourceID = try await command(source.port, "CLUSTER", "MYID").string,
              let targetID = try await command(target.port, "CLUSTER", "MYID").string else {
            throw RedisConfigurationError("CLUSTER MYID gave no id")
        }
        _ = try await command(target.port, "CLUSTER", "SETSLOT", String(slot.rawValue), "IMPORTING", sourceID).get()
        _ = try await command(source.port, "CLUSTER", "SETSLOT", String(slot.rawValue), "MIGRATING", targetID).get()
        return Migration(slot: slot, source: source, target: target, targetID: targetID)
    }

    /// `MIGRATE`s one key of the migration to its target.
    public func migrate(_ key: String, in migration: Migration) async throws {
        _ = try await command(migration.source.port, "MIGRATE", "127.0.0.1", String(migration.target.port), key, "0", "5000").get()
    }

    /// Ends the migration: the slot is the target's on every primary (`SETSLOT NODE`).
    public func finish(_ migration: Migration) async throws {
        for p in try await primaries() {
            _ = try await command(p.port, "CLUSTER", "SETSLOT", String(migration.slot.rawValue), "NODE", migration.targetID).get()
        }
    }

    /// Sends one command to one node on a private connection (run it off the cooperative pool:
    /// ``command(_:_:)`` does).
    public static func connect(_ port: Int) throws -> RedisConnection {
        try RedisConnection(configuration: RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), connectTimeout: 1, commandTimeout: 5))
    }

    /// One command to the node at `port`, on a private connection and a thread of its own (hiredis
    /// blocks; the test's task only awaits).
    public func command(_ port: Int, _ args: String...) async throws -> RESPValue {
        let command = RedisCommand(args[0], Array(args.dropFirst()))
        return try await Self.offPool { try Self.connect(port).send(command) }
    }

    /// Runs blocking work on a new thread and awaits its result.
    public static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            Thread { c.resume(with: Result { try work() }) }.start()
        }
    }

    private static func waitFor(_ port: Int, timeout: Double, _ ready: (RedisConnection) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let conn = try? connect(port), ready(conn) { return }
            usleep(20_000)
        }
        throw RedisConfigurationError("redis-server on port \(port) did not answer within \(timeout) s")
    }

    /// Ports handed to clusters of this process: suites run in parallel, and a port found free is
    /// not bound until its redis-server starts.
    private static let reserved = Mutex<Set<Int>>([])

    /// `n` loopback ports that are free, and whose cluster bus port (+10000) is free too.
    private static func freePorts(_ n: Int) throws -> [Int] {
        guard let ports = LoopbackPorts.forCluster(n, in: 12000...21999, accept: { p in reserved.withLock { $0.insert(p).inserted } }) else {
            throw RedisConfigurationError("no free ports for a test cluster")
        }
        return ports
    }

    static func findTool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        throw RedisConfigurationError("\(name) is not installed (apt-get install redis-server redis-tools)")
    }
}
