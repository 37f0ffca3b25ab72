import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RedisClient

/// `insights run --cluster N`: a local Redis Cluster this process starts for itself — N primaries,
/// each with one replica, on loopback ports, data (AOF), nodes.conf and logs under
/// `./.insights/cluster/<port>/` — stopped by PID on exit. The ports are kept in
/// `./.insights/cluster/layout`, so a later run restarts the same cluster on the same data (a
/// cluster's nodes know each other by address). Created with `redis-cli --cluster create`.
final class ManagedCluster: Sendable {
    let directory: String
    let ports: [Int]
    let pids: [pid_t]

    /// Every node as a seed: `redis://127.0.0.1:P1,…`.
    var url: String { "redis://" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    /// Starts (or restarts) the cluster and waits until every node answers and reports `cluster_state:ok`.
    init(primaries: Int, directory: String = FileManager.default.currentDirectoryPath + "/.insights/cluster") throws {
        let server = try ManagedRedis.findServer()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        let layoutPath = directory + "/layout"
        let existing = (try? String(contentsOfFile: layoutPath, encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        if let existing, !existing.isEmpty, existing.count != primaries * 2 {
            throw ManagedRedis.Failure("\(directory) holds a cluster of \(existing.count / 2) primaries: run with --cluster \(existing.count / 2), "
                                       + "or remove that directory to start afresh")
        }
        let fresh = existing?.isEmpty ?? true
        if fresh {
            guard let free = LoopbackPorts.forCluster(primaries * 2, in: 17000...19999) else {
                throw ManagedRedis.Failure("no \(primaries * 2) free loopback ports for the managed cluster")
            }
            ports = free
        } else {
            ports = existing!
        }
        var started: [pid_t] = []
        do {
            for port in ports {
                let node = directory + "/\(port)"
                try FileManager.default.createDirectory(atPath: node, withIntermediateDirectories: true)
                if ManagedRedis.ping(.tcp(host: "127.0.0.1", port: port)) {
                    throw ManagedRedis.Failure("port \(port) of the managed cluster is already served (a previous insights run?): stop it or pass --redis-url")
                }
                started.append(try ManagedRedis.spawn([
                    server, "--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                    "--cluster-config-file", node + "/nodes.conf", "--cluster-node-timeout", "5000",
                    "--dir", node, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    "--repl-diskless-sync-delay", "0", "--daemonize", "no", "--logfile", node + "/redis.log",
                    "--pidfile", node + "/redis.pid",
                ], output: node + "/redis.log"))
            }
            pids = started
            for port in ports { try Self.wait(10, "node \(port) to answer (see \(directory)/\(port)/redis.log)") { ManagedRedis.ping(.tcp(host: "127.0.0.1", port: port)) } }
            if fresh {
                let status = try Self.run([try Self.findCLI(), "--cluster", "create"] + ports.map { "127.0.0.1:\($0)" }
                                          + ["--cluster-replicas", "1", "--cluster-yes"], output: directory + "/create.log")
                guard status == 0 else { throw ManagedRedis.Failure("redis-cli --cluster create failed: see \(directory)/create.log") }
                try ports.map(String.init).joined(separator: " ").write(toFile: layoutPath, atomically: true, encoding: .utf8)
            }
            try Self.wait(60, "cluster_state:ok on every node, \(primaries) replicas known") {
                ports.allSatisfy { Self.clusterOK($0) } && Self.replicas(seenBy: ports[0]) == primaries
            }
        } catch {
            for pid in started { kill(pid, SIGTERM) }
            throw error
        }
    }

    /// SIGTERM to every node (each fsyncs its AOF and exits), then waits for them.
    func stop() {
        for pid in pids { kill(pid, SIGTERM) }
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
    }

    private static func clusterOK(_ port: Int) -> Bool {
        let config = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), connectTimeout: 0.5, commandTimeout: 1)
        guard let conn = try? RedisConnection(configuration: config) else { return false }
        return (try? conn.send(RedisCommand("CLUSTER", "INFO")).string)?.contains("cluster_state:ok") == true
    }

    /// Replicas in `port`'s view of the cluster (`CLUSTER NODES`).
    private static func replicas(seenBy port: Int) -> Int {
        let config = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), connectTimeout: 0.5, commandTimeout: 1)
        guard let conn = try? RedisConnection(configuration: config),
              let nodes = try? conn.send(RedisCommand("CLUSTER", "NODES")).string else { return -1 }
        return nodes.split(separator: "\n").filter { $0.split(separator: " ").dropFirst(2).first?.contains("slave") == true }.count
    }

    private static func wait(_ seconds: Double, _ what: String, _ done: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if done() { return }
            usleep(50_000)
        }
        throw ManagedRedis.Failure("timed out after \(Int(seconds)) s waiting for \(what)")
    }

    /// Runs a program to its end (its output to `output`); its exit status.
    private static func run(_ args: [String], output: String) throws -> Int32 {
        let pid = try ManagedRedis.spawn(args, output: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    private static func findCLI() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-cli") {
            return dir + "/redis-cli"
        }
        throw ManagedRedis.Failure("redis-cli is not installed: apt-get install redis-tools")
    }
}
