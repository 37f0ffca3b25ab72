import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import RedisClient

/// A private redis-server for one test suite: its own temp dir and unix socket, stopped by PID.
///
/// Tests never touch a server they did not start, so no FLUSHALL of anyone else's data.
public final class TestRedisServer: Sendable {
    /// The temp directory holding the socket, AOF and logs.
    public let directory: String
    /// The unix socket path.
    public let socketPath: String
    /// Extra `redis-server` arguments (e.g. `["--appendonly", "yes"]`).
    public let extraArguments: [String]
    private let process: ProcessBox

    /// Starts a redis-server and waits until it answers PING.
    public init(extraArguments: [String] = []) throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("insights-redis-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.directory = dir
        self.socketPath = dir + "/redis.sock"
        self.extraArguments = extraArguments
        self.process = ProcessBox()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The URL to give a ``RedisClient``.
    public var url: String { "unix://\(socketPath)" }

    /// A configuration with the given timeouts.
    public func configuration(commandTimeout: Double = 5) -> RedisConfiguration {
        RedisConfiguration(endpoint: .unix(path: socketPath), connectTimeout: 1, commandTimeout: commandTimeout)
    }

    /// The redis-server PID, for signals in fault tests.
    public var pid: Int32 { process.pid }

    /// (Re)starts the server on the same socket and directory (an AOF, if enabled, is replayed).
    public func start() throws {
        let args = [
            try Self.findServer(), "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--dir", directory, "--save", "", "--daemonize", "no", "--logfile", directory + "/redis.log",
        ] + extraArguments
        try process.spawn(args)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let conn = try? RedisConnection(configuration: configuration()),
               (try? conn.send(RedisCommand("PING")).string) == "PONG" {
                return
            }
            usleep(20_000)
        }
        throw RedisConfigurationError("redis-server did not answer within 10 s (see \(directory)/redis.log)")
    }

    /// Stops the server (SIGTERM, or SIGKILL with `kill: true`) and waits for it to exit.
    public func stop(kill: Bool = false) {
        process.stop(signal: kill ? SIGKILL : SIGTERM)
    }

    private static func findServer() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-server") {
            return dir + "/redis-server"
        }
        throw RedisConfigurationError("redis-server is not installed (apt-get install redis-server)")
    }
}

/// Holds the PID of the redis-server we spawned (posix_spawn + waitpid: Foundation's
/// `Process.waitUntilExit` can hang when called off the main run loop).
final class ProcessBox: Sendable {
    private let current = Mutex<pid_t>(0)

    var pid: Int32 { current.withLock { $0 } }

    func spawn(_ args: [String]) throws {
        var pid: pid_t = 0
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The child must not inherit this process' blocked signals (Dispatch blocks SIGTERM
        // in its threads), or redis-server would ignore our SIGTERM.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let rc = posix_spawn(&pid, args[0], &actions, &attr, &cargs, environ)
        guard rc == 0 else { throw RedisConfigurationError("could not start redis-server: errno \(rc)") }
        current.withLock { $0 = pid }
    }

    /// Runs a program to its end; its exit status.
    static func run(_ args: [String]) throws -> Int32 {
        let box = ProcessBox()
        try box.spawn(args)
        let pid = box.current.withLock { p -> pid_t in
            defer { p = 0 }
            return p
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    func stop(signal: Int32) {
        let pid = current.withLock { p -> pid_t in
            defer { p = 0 }
            return p
        }
        guard pid > 0 else { return }
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }
}
