import InsightsModel
import InsightsScripts
import Logging
import RedisClient

/// The client a chat platform links to emit events.
///
/// `track` validates the event and appends it to an in-memory buffer: it never waits on
/// the network. A background flusher sends the buffer through the atomic ingest script
/// when `batchSize` events are waiting or every `flushInterval`, pipelining
/// `pipelineDepth` calls per round trip. On a Redis failure it keeps the events and
/// retries with exponential back-off; retries are safe because the script drops
/// event_ids it has already seen. Any number of tasks may call it; any number of
/// processes may run trackers against the same Redis.
public actor Tracker {
    public let configuration: TrackerConfiguration
    private let ingestor: EventIngestor
    private let logger: Logger

    private var buffer: [AnalyticsEvent] = []
    private var inFlight = 0
    private var trackedSeq = 0  // sequence number of the last tracked event
    private var deliveredSeq = 0  // every event up to this number is in Redis
    private var stats = TrackerStats()
    private var stopping = false
    private var flushRequested = false
    private var flusherWakeup: CheckedContinuation<Void, Never>?
    private var flusherTimer: Task<Void, Never>?
    private var flushWaiters: [(seq: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var spaceWaiters: [CheckedContinuation<Void, Never>] = []
    private var flusher: Task<Void, Never>?
    /// Set by `shutdown(timeout:)` when its time is up: undelivered events are given up (counted).
    private var abandoning = false

    /// - Parameters:
    ///   - client: the Redis client (share one per process).
    ///   - configuration: batching, buffering and retry settings.
    public init(client: RedisClient, configuration: TrackerConfiguration = .init(), retention: Retention = .default,
                luaDirectory: String? = LuaScripts.directory(), logger: Logger = Logger(label: "insights.tracker")) throws {
        self.configuration = configuration
        self.ingestor = try EventIngestor(client: client, luaDirectory: luaDirectory, retention: retention,
                                          batchSize: configuration.batchSize, streamCap: configuration.streamCap,
                                          replicaAcks: configuration.replicaAcks)
        self.logger = logger
    }

    /// Buffers one event for delivery.
    /// - Returns: `true` if buffered; `false` only with overflow policy `.drop` when the buffer is full.
    /// - Throws: ``EventValidationError`` for an invalid event (nothing is buffered);
    ///   ``TrackerError/shutDown`` after ``shutdown()``.
    @discardableResult
    public func track(_ event: AnalyticsEvent) async throws -> Bool {
        var event = event
        if event.agentID == nil { event.agentID = configuration.defaultAgentID }
        try event.validateForIngest(now: EventClock.nowMs())
        while buffer.count + inFlight >= configuration.capacity {
            if stopping { throw TrackerError.shutDown }
            if configuration.overflow == .drop {
                stats.dropped += 1
                return false
            }
            await withCheckedContinuation { spaceWaiters.append($0) }
        }
        if stopping { throw TrackerError.shutDown }
        startFlusherIfNeeded()
        buffer.append(event)
        trackedSeq += 1
        stats.tracked += 1
        if buffer.count >= configuration.batchSize { wakeFlusher() }
        return true
    }

    /// Waits until every event tracked before this call is in Redis.
    public func flush() async {
        let target = trackedSeq
        guard deliveredSeq < target else { return }
        flushRequested = true
        wakeFlusher()
        await withCheckedContinuation { flushWaiters.append((target, $0)) }
    }

    /// Delivers everything buffered, then stops the flusher. Later `track` calls throw.
    public func shutdown() async {
        await flush()
        stopping = true
        wakeFlusher()
        for w in spaceWaiters { w.resume() }
        spaceWaiters.removeAll()
        await flusher?.value
        flusher = nil
    }

    /// Like ``shutdown()``, but gives up when `timeout` has passed and Redis still has not taken
    /// everything (e.g. it stays unreachable): the events not delivered by then are counted in
    /// ``TrackerStats/abandoned`` and logged, never dropped silently.
    /// - Returns: the number of events given up (0: everything was delivered).
    @discardableResult
    public func shutdown(timeout: Duration) async -> Int {
        let before = stats.abandoned
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            await self?.abandon()
        }
        await shutdown()
        timer.cancel()
        return stats.abandoned - before
    }

    private func abandon() {
        guard !abandoning else { return }
        abandoning = true
        let left = buffer.count + inFlight
        if left > 0 {
            logger.error("shutdown timed out: giving up undelivered events", metadata: ["events": "\(left)"])
        }
        wakeFlusher()
    }

    /// Counters so far.
    public var statistics: TrackerStats {
        var s = stats
        s.pending = buffer.count + inFlight
        return s
    }

    // MARK: - Flusher

    private func startFlusherIfNeeded() {
        guard flusher == nil else { return }
        flusher = Task { await self.runFlusher() }
    }

    private func wakeFlusher() {
        flusherTimer?.cancel()
        flusherTimer = nil
        flusherWakeup?.resume()
        flusherWakeup = nil
    }

    private func runFlusher() async {
        while let batch = await nextBatch() {
            await deliver(batch)
        }
    }

    /// Waits for a full batch, the interval, an explicit flush or shutdown; takes the events.
    private func nextBatch() async -> [AnalyticsEvent]? {
        let interval = configuration.flushInterval
        while true {
            if abandoning {
                let n = buffer.count
                buffer.removeAll()
                stats.abandoned += n
                settle(n)
                return nil
            }
            if !buffer.isEmpty && (buffer.count >= configuration.batchSize || flushRequested || stopping) {
                break
            }
            if buffer.isEmpty && stopping { return nil }
            let waited = ContinuousClock.now
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                flusherWakeup = c
                // One timer per wait, cancelled when something else wakes the flusher first.
                flusherTimer = Task { [weak self] in
                    guard (try? await Task.sleep(for: .seconds(interval))) != nil else { return }
                    await self?.wakeFlusher()
                }
            }
            if !buffer.isEmpty && ContinuousClock.now - waited >= .seconds(interval) { break }
        }
        let n = min(buffer.count, configuration.batchSize * configuration.pipelineDepth)
        let batch = Array(buffer.prefix(n))
        buffer.removeFirst(n)
        inFlight = n
        if buffer.isEmpty { flushRequested = false }
        return batch
    }

    private func deliver(_ batch: [AnalyticsEvent]) async {
        var delay = configuration.retryInitialDelay
        while true {
            if abandoning {
                stats.abandoned += batch.count
                break
            }
            do {
                let result = try await ingestor.ingest(batch)
                stats.accepted += result.accepted
                stats.duplicates += result.duplicates
                IngestMetrics.record(.tracker, accepted: result.accepted, duplicates: result.duplicates)
                break
            } catch let error as StreamFullError {
                // The stream is at its cap (workers behind or down): keep the events, retry later.
                stats.retries += 1
                logger.warning("stream full, retrying", metadata: ["error": "\(error)", "delay_s": "\(delay)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, configuration.retryMaxDelay)
            } catch let error as RedisCommandError where !error.isNoScript && !error.isTransient {
                // (A transient refusal — LOADING while Redis restarts, BUSY, READONLY — did not run the
                // script: it is retried below like a connection error. Found by chaos scenario 4:
                // before, a batch sent while Redis was loading its AOF was dropped as "refused".)
                // The script refused the batch: retrying cannot help. Count and log it, never silently.
                stats.failed += batch.count
                logger.error("ingest script refused a batch", metadata: ["error": "\(error)", "events": "\(batch.count)"])
                break
            } catch {
                stats.retries += 1
                logger.warning("ingest failed, retrying", metadata: ["error": "\(error)", "delay_s": "\(delay)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, configuration.retryMaxDelay)
            }
        }
        inFlight = 0
        settle(batch.count)
    }

    /// `n` more events are settled (delivered, refused or given up): wake who waits for them.
    private func settle(_ n: Int) {
        deliveredSeq += n
        flushWaiters.removeAll { w in
            if w.seq <= deliveredSeq { w.continuation.resume(); return true }
            return false
        }
        let waiters = spaceWaiters
        spaceWaiters.removeAll()
        for w in waiters { w.resume() }
    }
}

/// Errors of the tracker's own (validation errors are ``EventValidationError``).
public enum TrackerError: Error, Sendable, Equatable {
    /// `track` was called after `shutdown()`.
    case shutDown
}
