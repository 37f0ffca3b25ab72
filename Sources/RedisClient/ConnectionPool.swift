import Logging
import Synchronization

/// A bounded pool of connections to one Redis node (a plain Redis, or one node of a cluster).
///
/// Each connection lives on its own thread (see ``ConnectionSlot``); callers wait
/// (without blocking a thread) for a free connection when all are busy. Connections
/// are opened lazily and reopened after failures, so the pool survives a server restart:
/// the command that saw the failure throws ``RedisConnectionError``, later ones reconnect.
final class ConnectionPool: Sendable {
    /// Where this pool connects.
    let configuration: RedisConfiguration
    private let slots: [ConnectionSlot]
    private let state: Mutex<PoolState>

    private struct PoolState: ~Copyable {
        var idle: [Int]
        var waiters: [(id: Int, continuation: CheckedContinuation<Int, any Error>)] = []
        var nextWaiterID = 0
        var closed = false
    }

    /// - Parameters:
    ///   - configuration: where to connect.
    ///   - poolSize: the most connections (and threads) this pool opens.
    init(configuration: RedisConfiguration, poolSize: Int, logger: Logger) {
        precondition(poolSize > 0, "poolSize must be positive")
        self.configuration = configuration
        self.slots = (0..<poolSize).map { ConnectionSlot(index: $0, configuration: configuration, logger: logger) }
        self.state = Mutex(PoolState(idle: Array((0..<poolSize).reversed())))
    }

    /// Runs `body` with exclusive use of one connection, on that connection's own thread.
    /// Use it for a sequence that must share a connection (MULTI/EXEC, WATCH).
    func withConnection<T: Sendable>(_ body: @Sendable (RedisConnection) throws -> T) async throws -> T {
        let index = try await acquire()
        defer { release(index) }
        return try await slots[index].run(body)
    }

    /// Closes every connection and ends their threads; waiting callers get ``RedisConnectionError/closed``.
    func close() async {
        let waiters = state.withLock { s -> [CheckedContinuation<Int, any Error>] in
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters.map(\.continuation)
        }
        for w in waiters { w.resume(throwing: RedisConnectionError.closed) }
        for slot in slots { await slot.close() }
    }

    private func acquire() async throws -> Int {
        if let index = try state.withLock({ s throws -> Int? in
            if s.closed { throw RedisConnectionError.closed }
            return s.idle.popLast()
        }) {
            return index
        }
        let waiterID = state.withLock { s -> Int in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Int, any Error>) in
                let immediate: Result<Int, any Error>? = state.withLock { s in
                    if s.closed { return .failure(RedisConnectionError.closed) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let index = s.idle.popLast() { return .success(index) }
                    s.waiters.append((waiterID, cont))
                    return nil
                }
                if let immediate { cont.resume(with: immediate) }
            }
        } onCancel: {
            let cont = state.withLock { s -> CheckedContinuation<Int, any Error>? in
                guard let i = s.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                return s.waiters.remove(at: i).continuation
            }
            cont?.resume(throwing: CancellationError())
        }
    }

    private func release(_ index: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Int, any Error>? in
            if s.waiters.isEmpty {
                s.idle.append(index)
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: index)
    }
}
