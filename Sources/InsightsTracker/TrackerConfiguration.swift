import RedisClient

/// Tuning of a ``Tracker``.
public struct TrackerConfiguration: Sendable {
    /// What `track` does when the buffer is full.
    public enum OverflowPolicy: Sendable, Equatable {
        /// The caller waits until the flusher has made room (back-pressure).
        case wait
        /// The event is refused: `track` returns `false` and ``TrackerStats/dropped`` counts it.
        case drop
    }

    /// Agent id for events that carry none.
    public var defaultAgentID: String?
    /// Events per atomic script call; a flush starts as soon as this many are buffered. Default 500:
    /// a script call costs Redis a fixed part (counters, de-dup sets) that larger batches share.
    public var batchSize: Int = EventIngestor.defaultBatchSize
    /// Script calls pipelined per round trip. Default 4.
    public var pipelineDepth: Int = 4
    /// A non-empty buffer is flushed at least this often, in seconds. Default 0.05 s: an event waits
    /// at most that long for a batch to fill (freshness), and a busy tracker fills batches anyway.
    public var flushInterval: Double = 0.05
    /// Events held at most (buffered + in flight). Default 100 000.
    public var capacity: Int = 100_000
    public var overflow: OverflowPolicy = .wait
    /// Retry back-off after a Redis failure: first delay and cap, in seconds.
    public var retryInitialDelay: Double = 0.05
    public var retryMaxDelay: Double = 5
    /// The most entries one agent's stream may hold (``EventIngestor/streamCap``; 0 = no cap).
    /// A batch refused because the stream is full is kept and retried with the same back-off.
    public var streamCap: Int = EventIngestor.defaultStreamCap
    /// Replicas that must confirm a batch before the tracker drops its copy (``EventIngestor/replicaAcks``);
    /// a batch confirmed by fewer is kept and retried (nil: the primary's reply is enough).
    public var replicaAcks: ReplicaAcks?

    public init(defaultAgentID: String? = nil) {
        self.defaultAgentID = defaultAgentID
    }
}

/// Counters of a tracker's life so far.
public struct TrackerStats: Sendable, Equatable {
    /// Events accepted by `track`.
    public var tracked = 0
    /// Events written to Redis (new ids).
    public var accepted = 0
    /// Events Redis already had (a retry after an unclear failure, or a re-sent id).
    public var duplicates = 0
    /// Events refused because the buffer was full (policy `.drop`).
    public var dropped = 0
    /// Events the ingest script refused (should not happen: `track` validates first). Logged.
    public var failed = 0
    /// Failed delivery attempts that were retried.
    public var retries = 0
    /// Events given up by ``Tracker/shutdown(timeout:)`` because Redis did not take them in time. Logged.
    public var abandoned = 0
    /// Events buffered or in flight now.
    public var pending = 0
}
