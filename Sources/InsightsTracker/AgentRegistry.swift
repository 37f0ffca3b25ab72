import InsightsModel
import Synchronization

/// Agents this process has already registered in `ins:agents`, so the SADD is sent once per agent.
final class AgentRegistry: Sendable {
    private let known = Mutex<Set<String>>([])

    func unknown(_ agents: [String]) -> [String] {
        known.withLock { set in agents.filter { !set.contains($0) } }
    }

    func insert(_ agents: [String]) {
        known.withLock { $0.formUnion(agents) }
    }
}

/// When this process last wrote a wake-up entry for each agent (``AgentKeys/wakeStream``), so that
/// it writes at most one per agent every ``AgentKeys/wakeCoalesceMs``.
final class WakeRegistry: Sendable {
    private let last = Mutex<[String: Int64]>([:])

    /// The agents to wake now (and notes that they were), of `agents`, at `nowMs`.
    func due(_ agents: [String], nowMs: Int64) -> [String] {
        last.withLock { last in
            agents.filter { agent in
                if let at = last[agent], nowMs - at < AgentKeys.wakeCoalesceMs { return false }
                last[agent] = nowMs
                return true
            }
        }
    }
}
