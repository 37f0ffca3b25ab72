import Foundation
import InsightsModel
import InsightsScripts

/// How a ``Worker`` consumes the agent streams (docs/worker.md).
public struct WorkerConfiguration: Sendable {
    /// This worker's consumer name in every group; must be unique among live workers.
    /// Default `<hostname>-<pid>-<random>`.
    public var consumerName: String
    /// The consumer group on every `ins:{a}:stream`.
    public var group: String
    /// Entries per XREADGROUP (and per apply script call).
    public var batchSize: Int
    /// A session idle longer than this, in event time (ms), is finalized as dropped. Default 1800 s.
    public var sessionTimeoutMs: Int64
    /// The sweep treats the watermark as at least (Redis server time − this many ms), so a session
    /// idle past the timeout *by the server clock* is finalized even when its agent sends nothing
    /// more (the agent's newest event time would never move). The grace is an extra allowance for
    /// late events: ``defaultWallClockGraceMs`` (docs/worker.md says why). `nil`: pure event time.
    public var wallClockGraceMs: Int64?

    /// 60 s: covers the tracker's flush interval (1 s), ordinary worker lag and modest clock skew
    /// between platform hosts and Redis, and is small beside the session timeout (30 min), so a
    /// quiet agent's last sessions are final about a minute after the timeout. A later event for a
    /// session finalized this way still corrects the counters (docs/worker.md, *Correct*).
    public static let defaultWallClockGraceMs: Int64 = 60_000
    /// An entry pending this long (ms) on any consumer is claimed (XAUTOCLAIM). Default 30 s.
    public var claimIdleMs: Int
    /// How often the recovery pass (XAUTOCLAIM) runs.
    public var claimInterval: Duration
    /// An entry that cannot be decoded and has been delivered this many times goes to the dead-letter stream.
    public var maxDeliveries: Int
    /// How often `ins:agents` is re-read for the background cycle (new agents are known at once from
    /// their wake-ups).
    public var agentRefreshInterval: Duration
    /// How often streams are trimmed below the group's acknowledged point.
    public var trimInterval: Duration
    /// A group consumer with no pending entry, idle this long (ms), is deleted on the trim pass (a
    /// worker that stopped: each start joins under a new name).
    public var consumerExpiryMs: Int = 3_600_000
    /// How often the sweep (idle sessions → dropped) runs. It works in event time against a
    /// 30-minute timeout, so running it every pass only cost Redis time. `.zero` = every pass.
    public var sweepInterval: Duration
    /// How long `run()` pauses when a pass found nothing to do.
    public var idleDelay: Duration
    /// An agent named by a wake-up entry (``AgentKeys/wake(_:)``), or whose stream had new entries,
    /// is read every pass for this long; then only the background cycle visits it (docs/worker.md,
    /// *Many agents*). Must exceed ``AgentKeys/wakeCoalesceMs`` by far.
    public var activeWindow: Duration = .seconds(10)
    /// Every agent of `ins:agents` is visited in full (new entries, own pending entries, claims,
    /// sweep, compaction, trim) at least once per this interval, in slices spread over the passes,
    /// whether or not it woke up: what the wake-ups might miss (a worker started after them) is
    /// found within one cycle. `.zero`: every agent on every pass (before issue 14).
    public var fullScanInterval: Duration = .seconds(600)
    /// The most agents the background cycle visits in one pass, so that a pass stays short and the
    /// active agents are read again soon; a worker's first cycle goes at this pace, the later ones
    /// spread over ``fullScanInterval``. Ignored with `fullScanInterval == .zero`.
    public var maxVisitsPerPass: Int = 200
    /// How often finalized sessions are compacted (their state and journey into one compressed value).
    public var compactInterval: Duration = .seconds(1)
    /// How long a session handed to a worker for compaction stays its own (then another may take it).
    public var compactLeaseMs: Int = 30_000
    /// Bucket TTLs and how long journeys and session state live after a session's last event
    /// (`retention.session`, default 35 days; docs/worker.md).
    public var retention: Retention
    /// A directory of Lua scripts instead of the embedded ones (``LuaScripts``; `INSIGHTS_LUA_DIR`).
    public var luaDirectory: String?

    public init(
        consumerName: String = WorkerConfiguration.defaultConsumerName(),
        group: String = "workers",
        batchSize: Int = 1000,
        sessionTimeoutMs: Int64 = 1_800_000,
        wallClockGraceMs: Int64? = WorkerConfiguration.defaultWallClockGraceMs,
        claimIdleMs: Int = 30_000,
        claimInterval: Duration = .seconds(5),
        maxDeliveries: Int = 5,
        agentRefreshInterval: Duration = .seconds(30),
        trimInterval: Duration = .seconds(10),
        sweepInterval: Duration = .seconds(1),
        idleDelay: Duration = .milliseconds(100),
        retention: Retention = .default,
        luaDirectory: String? = LuaScripts.directory()
    ) {
        self.consumerName = consumerName
        self.group = group
        self.batchSize = max(1, batchSize)
        self.sessionTimeoutMs = sessionTimeoutMs
        self.wallClockGraceMs = wallClockGraceMs.map { max(0, $0) }
        self.claimIdleMs = max(0, claimIdleMs)
        self.claimInterval = claimInterval
        self.maxDeliveries = max(1, maxDeliveries)
        self.agentRefreshInterval = agentRefreshInterval
        self.trimInterval = trimInterval
        self.sweepInterval = sweepInterval
        self.idleDelay = idleDelay
        self.retention = retention
        self.luaDirectory = luaDirectory
    }

    /// `<hostname>-<pid>-<8 random hex digits>`.
    public static func defaultConsumerName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(random)"
    }

}

/// Entries not yet delivered (`lag`) and delivered but not acknowledged (`pending`).
public struct StreamLag: Sendable, Equatable {
    public var lag: Int
    public var pending: Int
    public var total: Int { lag + pending }

    public init(lag: Int = 0, pending: Int = 0) {
        self.lag = lag
        self.pending = pending
    }
}

/// ``Worker/lag()``: per agent and summed.
public struct LagReport: Sendable, Equatable {
    public var perAgent: [String: StreamLag]
    public var total: StreamLag

    public init(perAgent: [String: StreamLag], total: StreamLag) {
        self.perAgent = perAgent
        self.total = total
    }
}
