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
