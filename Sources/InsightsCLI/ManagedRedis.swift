import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RedisClient

/// A redis-server this process starts for itself (no `--redis-url`): data, AOF and log under
/// `./.insights/`, a unix socket there (or a free loopback port if the path is too long),
/// stopped by PID on exit. Spawned like `TestRedisServer`: posix_spawn with a clean signal
/// mask, and in its own process group so a Ctrl-C in the terminal reaches only us (we flush
/// our trackers first, then stop the server).
final class ManagedRedis: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let directory: String
    let endpoint: RedisConfiguration.Endpoint
    let pid: pid_t

    /// The URL to give a ``RedisClient``.
    var url: String {
        switch endpoint {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "redis://\(host):\(port)"
        }
    }

    var logPath: String { directory + "/redis.log" }

    /// Starts redis-server and waits (10 s at most) until it answers PING.
    init(directory: String = FileManager.default.currentDirectoryPath + "/.insights") throws {
        let server = try Self.findServer()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        let socket = directory + "/redis.sock"
        let pidFile = directory + "/redis.pid"
        // Two servers on one AOF would corrupt it: refuse if a previous one still runs.
        if Self.ping(.unix(path: socket)) || Self.isRunning(pidFile: pidFile) {
            throw Failure("another redis-server is already running on \(directory) (a previous insights run?), and two servers must not share one AOF: "
                          + "stop it (its PID is in \(pidFile) or shown by pgrep -a redis-server) or pass --redis-url")
        }
        var args = [server, "--dir", directory, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    "--daemonize", "no", "--logfile", directory + "/redis.log", "--pidfile", pidFile]
        if socket.utf8.count <= 100 {
            endpoint = .unix(path: socket)
            args += ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700"]
        } else {
            let port = try Self.freeLoopbackPort()
            endpoint = .tcp(host: "127.0.0.1", port: port)
            args += ["--port", "\(port)", "--bind", "127.0.0.1"]
        }
        pid = try Self.spawn(args, output: directory + "/redis.log")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.ping(endpoint) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw Failure("redis-server exited at start (status \(status)): see \(logPath)")
            }
            usleep(20_000)
        }
        stop()
        throw Failure("redis-server did not answer within 10 s: see \(logPath)")
    }

    /// SIGTERM (redis-server fsyncs the AOF and exits), then waits for it.
    func stop() {
        guard kill(pid, SIGTERM) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    static func ping(_ endpoint: RedisConfiguration.Endpoint) -> Bool {
        let config = RedisConfiguration(endpoint: endpoint, connectTimeout: 0.5, commandTimeout: 1)
        guard let conn = try? RedisConnection(configuration: config) else { return false }
        return (try? conn.send(RedisCommand("PING")).string) == "PONG"
    }

    private static func isRunning(pidFile: String) -> Bool {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return false }
        return comm.hasPrefix("redis-server") || comm.hasPrefix("redis-check")
    }

    static func findServer() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-server") {
            return dir + "/redis-server"
        }
        throw Failure("redis-server is not installed: run 'make run' (it installs it) or 'apt-get install redis-server', "
                      + "or pass --redis-url")
    }

    /// Binds 127.0.0.1:0 and returns the port the kernel chose (released again at once).
    private static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("no free loopback port: socket() failed, errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw Failure("no free loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func spawn(_ args: [String], output: String) throws -> pid_t {
        var pid: pid_t = 0
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Anything redis-server prints before it opens its log file (a bad option) lands in the log too.
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)  // Dispatch blocks SIGTERM in its threads: not in the child
        posix_spawnattr_setsigdefault(&attr, &all)  // nor our SIG_IGN of SIGINT/SIGTERM
        posix_spawnattr_setpgroup(&attr, 0)  // its own process group: the terminal's Ctrl-C is ours to handle
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let rc = posix_spawn(&pid, args[0], &actions, &attr, &cargs, environ)
        guard rc == 0 else { throw Failure("could not start redis-server: errno \(rc)") }
        return pid
    }
}
