import Foundation
import InsightsModel
import Logging
import RedisClient

/// Which agents a pass looks at (docs/worker.md, *Many agents*): the wake-up streams, the active
/// window, the background cycle and the maintenance each visited agent needs.
extension Worker {
    /// The maintenance an agent of the background cycle waits for until its interval is due.
    enum MaintenanceOp: CaseIterable { case claim, sweep, compact, trim }

    /// What a background visit has to do for an agent, from one pipeline of three cheap reads: a
    /// sweep only with sessions in `P idle`, a compaction only with sessions queued in `P cq`, a
    /// trim (and the consumer prune) only with entries in the stream; claims always (`XAUTOCLAIM`
    /// is as cheap as asking). A script call costs its fixed part even when it finds nothing: most
    /// of a quiet agent's visit before this check.
    func maintenanceNeeded(_ agent: String) async throws -> [MaintenanceOp] {
        let keys = AgentKeys(agent)
        let r = try await client.pipeline([
            RedisCommand("ZCARD", key: keys.idle), RedisCommand("ZCARD", key: keys.compactQueue), RedisCommand("XLEN", key: keys.stream),
        ])
        var ops: [MaintenanceOp] = [.claim]
        if (r[0].int ?? 1) > 0 { ops.append(.sweep) }
        if (r[1].int ?? 1) > 0 { ops.append(.compact) }
        if (r[2].int ?? 1) > 0 { ops.append(.trim) }
        return ops
    }

    /// New entries of an agent (its group made first, and what this consumer name had pending).
    func readAgent(_ agent: String, _ now: ContinuousClock.Instant) async throws -> Int {
        let keys = AgentKeys(agent)
        try await ensureGroup(keys)
        var handled = 0
        if !drained.contains(agent) {
            handled += try await drainOwnPending(agent)
            drained.insert(agent)
        }
        handled += try await readNew(agent)
        if handled > 0 { active[agent] = now }
        return handled
    }

    /// Sweeps, then remembers when the agent's next idle session can be due by the server clock.
    func sweepAndSchedule(_ agent: String, _ now: ContinuousClock.Instant) async throws {
        let (finalized, nextMs) = try await sweepOnce(agent)
        if finalized > 0 { compactDue[agent] = now }
        if let nextMs {
            sweepDue[agent] = now + max(configuration.sweepInterval, .milliseconds(nextMs + 50))
        } else {
            sweepDue[agent] = nil
        }
    }

    func trimAndPrune(_ agent: String) async throws {
        _ = try await trim(agent)
        let gone = try await pruneConsumers(agent)
        if !gone.isEmpty { logger.info("removed gone consumers", metadata: ["agent": "\(agent)", "consumers": "\(gone)"]) }
    }

    /// The agents of the background cycle to visit this pass: with `fullScanInterval == .zero` all
    /// of them; in a worker's first cycle as many as ``WorkerConfiguration/maxVisitsPerPass``; later
    /// as many as keep the cycle on schedule (every agent once per interval), at least one, at most
    /// `maxVisitsPerPass`.
    func nextSlice(_ now: ContinuousClock.Instant) -> [String] {
        if configuration.fullScanInterval == .zero { return agents.map(\.agent) }
        if cycle.isEmpty {
            if let start = cycleStart, now - start < configuration.fullScanInterval { return [] }
            firstCycle = cycleStart == nil
            cycle = agents.map(\.agent)
            cycleSize = cycle.count
            cycleStart = now
        }
        guard let start = cycleStart else { return [] }
        let visited = cycleSize - cycle.count
        let target = firstCycle ? cycleSize : min(cycleSize, Int((Double(cycleSize) * ((now - start) / configuration.fullScanInterval)).rounded(.up)))
        let n = min(cycle.count, max(1, configuration.maxVisitsPerPass), max(1, target - visited))
        defer { cycle.removeFirst(n) }
        return Array(cycle.prefix(n))
    }

    /// Reads the wake-up streams from where this worker left off: every agent named becomes active.
    func readWakes(_ now: ContinuousClock.Instant) async throws {
        let shards = 0..<AgentKeys.wakeShards
        if wakeCursors.isEmpty {
            // Start at their ends: this worker's first pass visits every agent anyway.
            let last = try await client.pipeline(shards.map { RedisCommand("XREVRANGE", key: AgentKeys.wake($0), "+", "-", "COUNT", "1") })
            wakeCursors = last.map { $0.array?.first?.array?.first?.string ?? "0-0" }
            return
        }
        let replies = try await client.pipeline(shards.map { shard in
            var read = RedisCommand("XREAD", "COUNT", "1000", "STREAMS")
            read.append(key: AgentKeys.wake(shard))
            read.append(wakeCursors[shard])
            return read
        })
        for (shard, reply) in zip(shards, replies) {
            guard let streams = reply.array, let first = streams.first?.array, first.count == 2 else { continue }
            for entry in Self.entries(first[1]) {
                wakeCursors[shard] = entry.id
                guard let raw = entry.field("a") else { continue }
                let agent = String(decoding: raw, as: UTF8.self)
                guard IdentifierRule.isValid(agent) else { continue }
                active[agent] = now
                if known.insert(agent).inserted { agents.append(AgentKeys(agent)) }
            }
        }
    }

    /// Drops agents quiet for longer than every window that looks at them.
    func forgetQuiet(_ now: ContinuousClock.Instant, longest: Duration) {
        for (agent, at) in active where now - at > longest { active[agent] = nil }
    }
}
