import Logging

/// One pooled connection, isolated to its own dedicated thread.
///
/// The actor runs on a ``ThreadExecutor``, so the blocking hiredis calls made inside
/// it never occupy Swift's cooperative pool, and the non-`Sendable` ``RedisConnection``
/// it owns is only ever touched from that one thread.
actor ConnectionSlot {
    private let executor: ThreadExecutor
    private let configuration: RedisConfiguration
    private let logger: Logger
    private var connection: RedisConnection?
    private var hadConnection = false

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(index: Int, configuration: RedisConfiguration, logger: Logger) {
        self.executor = ThreadExecutor(name: "redis-\(index)")
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` with a live connection on this slot's thread, connecting first if needed.
    /// A connection that breaks is dropped, so the next call reconnects (after a server restart).
    func run<T: Sendable>(_ body: @Sendable (RedisConnection) throws -> T) throws -> T {
        let conn: RedisConnection
        do {
            conn = try liveConnection()
        } catch {
            RedisMetrics.recordError(.connection)
            throw error
        }
        do {
            return try body(conn)
        } catch {
            RedisMetrics.recordError(conn.isBroken ? .connection : .command)
            if conn.isBroken {
                connection = nil
                logger.warning("redis connection lost", metadata: ["error": "\(error)"])
            }
            throw error
        }
    }

    private func liveConnection() throws -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        let fresh = try RedisConnection(configuration: configuration)
        if hadConnection {
            RedisMetrics.recordReconnect()
            logger.info("redis reconnected", metadata: ["redis": "\(configuration.redactedDescription)"])
        }
        hadConnection = true
        connection = fresh
        return fresh
    }

    /// Closes the connection and ends the thread.
    func close() {
        connection = nil
        executor.shutdown()
    }
}
