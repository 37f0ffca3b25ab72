import Metrics

/// The workers' own metrics (swift-metrics; exported at `GET /metrics` by a front in the same
/// process, `insights run`; docs/operations.md). Lag, pending and dead letters per agent are read
/// from Redis by the front at each scrape, whichever process runs the workers.
enum WorkerMetrics {
    /// Stream entries applied (acknowledged, not dead-lettered).
    static let applied = Counter(label: "insights_worker_entries_applied_total")
    /// Stream entries moved to an agent's dead-letter stream.
    static let deadLettered = Counter(label: "insights_worker_dead_lettered_total")
    /// Sessions finalized (by conversation_end in apply, or by the sweep after the timeout).
    static let finalized = Counter(label: "insights_worker_sessions_finalized_total")
    /// Sweep script calls.
    static let sweeps = Counter(label: "insights_worker_sweeps_total")

    /// One apply call: `acknowledged` counts the dead-lettered entries too.
    static func recordApply(finalized: Int, deadLettered: Int, acknowledged: Int) {
        if finalized > 0 { self.finalized.increment(by: finalized) }
        if deadLettered > 0 { self.deadLettered.increment(by: deadLettered) }
        if acknowledged > deadLettered { applied.increment(by: acknowledged - deadLettered) }
    }

    static func recordSweep(finalized: Int) {
        sweeps.increment()
        if finalized > 0 { self.finalized.increment(by: finalized) }
    }
}
