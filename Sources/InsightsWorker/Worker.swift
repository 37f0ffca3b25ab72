import Foundation
import InsightsModel
import InsightsScripts
import Logging
import RedisClient

/// One member of the worker group: consumes every agent's stream through the consumer group,
/// applying entries to journeys and sessions (`lua/worker_apply.lua`: read, apply and acknowledge
/// in one atomic call), finalizes idle sessions (`lua/worker_sweep.lua`), compacts finalized ones
/// (`lua/worker_compact.lua` and deflate here), recovers entries left pending, dead-letters poison
/// entries and trims the streams. Any number of workers may run at once (docs/worker.md).
public actor Worker {
    public nonisolated let configuration: WorkerConfiguration
    public nonisolated let client: RedisClient
    nonisolated let applyScript: RedisScript
    nonisolated let sweepScript: RedisScript
    nonisolated let pruneScript: RedisScript
    nonisolated let compactScript: RedisScript
    let logger: Logger

    var agents: [AgentKeys] = []
    var known: Set<String> = []
    var agentsReadAt: ContinuousClock.Instant?
    /// Agents with recent activity (a wake-up entry, or new entries read): when it was last seen.
    var active: [String: ContinuousClock.Instant] = [:]
    /// Per wake-up stream, the last entry id read (empty until read once).
    var wakeCursors: [String] = []
    /// Agents still to visit in the current background cycle, and when the cycle started.
    var cycle: [String] = []
    var cycleStart: ContinuousClock.Instant?
    var cycleSize = 0
    var firstCycle = true
    /// Quiet agents with idle sessions: when the next one can be due by the server clock.
    var sweepDue: [String: ContinuousClock.Instant] = [:]
    /// Agents with sessions queued for compaction (finalized by a sweep, or leased by a worker that
    /// may have died): when the earliest is due.
    var compactDue: [String: ContinuousClock.Instant] = [:]
    /// Agents whose streams hold entries left pending (unreadable, or claimed lately): until when
    /// to keep claiming from them, active or not.
    var claimWatch: [String: ContinuousClock.Instant] = [:]
    /// Agents of the background cycle visited but not yet recovered / swept / compacted / trimmed.
    var visitPending: [MaintenanceOp: Set<String>] = [:]
    var groupsReady: Set<String> = []
    /// Agents whose own pending entries (from a previous life of this consumer) are drained.
    var drained: Set<String> = []
    var claimCursor: [String: String] = [:]
    var claimedAt: ContinuousClock.Instant?
    /// The first trim comes one interval after start (trimming before anything was applied only costs
    /// Redis time, and it lets `make bench` time each part of the worker on its own).
    var trimmedAt: ContinuousClock.Instant? = ContinuousClock.now
    var sweptAt: ContinuousClock.Instant?
    /// Like the trim, the first compaction comes one interval after start.
    var compactedAt: ContinuousClock.Instant? = ContinuousClock.now
    /// The last compaction pass left sessions due (one page per agent and pass): no idle pause.
    var compactBacklog = false

    public init(client: RedisClient, configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger = Logger(label: "insights.worker")) throws {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        let dir = configuration.luaDirectory
        self.applyScript = try LuaScripts.script(["common", "worker_lib", "worker_apply"], directory: dir)
        self.sweepScript = try LuaScripts.script(["common", "worker_lib", "worker_sweep"], directory: dir)
        self.compactScript = try LuaScripts.script(["common", "worker_compact"], directory: dir)
        self.pruneScript = try LuaScripts.script(["worker_prune"], directory: dir)
    }

    // MARK: - Loop

    /// Processes until the surrounding task is cancelled. Errors are logged and retried after a pause.
    public func run() async {
        while !Task.isCancelled {
            do {
                let n = try await processOnce()
                if n == 0 && !compactBacklog { try await Task.sleep(for: configuration.idleDelay) }
            } catch is CancellationError {
                return
            } catch {
                logger.error("worker pass failed: \(error)")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// One pass: the agents that woke up or are active get their new entries read; a slice of the
    /// background cycle is visited in full; recently active agents are recovered, swept, compacted
    /// and trimmed when each is due (docs/worker.md, *Many agents*). Quiet agents cost nothing but
    /// their visit once per ``WorkerConfiguration/fullScanInterval`` (and a scheduled sweep when
    /// their idle sessions come due). Returns the number of entries acknowledged by this worker.
    @discardableResult
    public func processOnce() async throws -> Int {
        let clock = ContinuousClock()
        let now = clock.now
        // Wake-ups first: the first pass places the cursors at the streams' ends before it reads
        // `ins:agents`, so an agent whose first batch lands between the two is in one or the other.
        try await readWakes(now)
        try await refreshAgents(now)
        let slice = Set(nextSlice(now))
        var handled = 0
        for (agent, at) in active.sorted(by: { $0.key < $1.key }) where now - at <= configuration.activeWindow && !slice.contains(agent) {
            handled += try await readAgent(agent, now)
        }
        for agent in slice {
            handled += try await readAgent(agent, now)
            for op in try await maintenanceNeeded(agent) { visitPending[op, default: []].insert(agent) }
        }

        func due(_ at: ContinuousClock.Instant?, _ interval: Duration) -> Bool { at.map { now - $0 >= interval } ?? true }
        /// The recently active agents and those of the background cycle waiting for `op`.
        func candidates(_ op: MaintenanceOp, window: Duration) -> [String] {
            var set = visitPending.removeValue(forKey: op) ?? []
            for (agent, at) in active where now - at <= window { set.insert(agent) }
            return set.sorted()
        }
        if due(claimedAt, configuration.claimInterval) {
            var agents = Set(candidates(.claim, window: claimWindow))
            for (agent, until) in claimWatch {
                if until < now { claimWatch[agent] = nil } else { agents.insert(agent) }
            }
            for agent in agents.sorted() { handled += try await recover(agent) }
            claimedAt = now
        }
        if due(sweptAt, configuration.sweepInterval) {
            // Active agents on every sweep (their events move the watermark); quiet ones when due.
            var agents = Set(candidates(.sweep, window: configuration.activeWindow))
            for (agent, at) in sweepDue where at <= now { agents.insert(agent) }
            for agent in agents.sorted() { try await sweepAndSchedule(agent, now) }
            sweptAt = now
        }
        if due(compactedAt, configuration.compactInterval) {
            // One page per agent and pass; an agent with more due is continued on the next pass.
            var more = false
            var agents = Set(candidates(.compact, window: configuration.activeWindow))
            for (agent, at) in compactDue where at <= now { agents.insert(agent) }
            for agent in agents.sorted() {
                let page = try await compact(agent, pages: 1)
                if page.more { more = true }
                // Sessions left queued (leased by a worker that may have died): look again when due.
                compactDue[agent] = page.nextMs.map { now + max(configuration.compactInterval, .milliseconds($0 + 50)) }
            }
            if !more { compactedAt = now }
            compactBacklog = more
        }
        if due(trimmedAt, configuration.trimInterval) {
            for agent in candidates(.trim, window: configuration.trimInterval * 2) { try await trimAndPrune(agent) }
            trimmedAt = now
        }
        forgetQuiet(now, longest: max(claimWindow, configuration.trimInterval * 2, configuration.activeWindow))
        return handled
    }

    /// Re-reads `ins:agents` when due. An agent it finds for the first time after the first read
    /// had no wake-up this worker saw (lost with a failed pipeline, or written on another primary
    /// before this worker's cursors were placed): it is read at once, not at the next cycle.
    private func refreshAgents(_ now: ContinuousClock.Instant) async throws {
        if let t = agentsReadAt, now - t < configuration.agentRefreshInterval { return }
        let ids = try await Self.agentIDs(client)
        let first = agentsReadAt == nil
        for id in ids where known.insert(id).inserted && !first { active[id] = now }
        agents = known.sorted().map(AgentKeys.init)
        agentsReadAt = now
    }

    /// Every valid agent id of `ins:agents`, sorted.
    static func agentIDs(_ client: RedisClient) async throws -> [String] {
        let members = try await client.send("SMEMBERS", key: AgentKeys.agents).array?.compactMap(\.string) ?? []
        return members.filter { IdentifierRule.isValid($0) }.sorted()
    }

    func ensureGroup(_ keys: AgentKeys) async throws {
        if groupsReady.contains(keys.agent) { return }
        do {
            try await client.send("XGROUP", "CREATE", key: keys.stream, configuration.group, "0", "MKSTREAM")
        } catch let e as RedisCommandError where e.code == "BUSYGROUP" {}
        groupsReady.insert(keys.agent)
    }

    // MARK: - Reading

    struct Entry {
        var id: String
        var fields: [(name: String, value: [UInt8])]

        func field(_ name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }
    }

    private func readGroup(_ agent: String, from id: String) async throws -> [Entry] {
        let key = AgentKeys(agent).stream
        let reply: RESPValue
        do {
            var read = RedisCommand("XREADGROUP", "GROUP", configuration.group, configuration.consumerName,
                                    "COUNT", String(configuration.batchSize), "STREAMS")
            read.append(key: key)
            read.append(id)
            reply = try await client.send(read)
        } catch let e as RedisCommandError where e.code == "NOGROUP" {
            groupsReady.remove(agent)  // the stream was deleted; recreate next pass
            return []
        }
        guard let streams = reply.array, let first = streams.first?.array, first.count == 2 else { return [] }
        return Self.entries(first[1])
    }

    static func entries(_ value: RESPValue) -> [Entry] {
        (value.array ?? []).compactMap { item in
            guard let pair = item.array, pair.count == 2, let id = pair[0].string else { return nil }
            var fields: [(String, [UInt8])] = []
            if let flat = pair[1].array {
                var i = 0
                while i + 1 < flat.count {
                    fields.append((flat[i].string ?? "", flat[i + 1].bytes ?? []))
                    i += 2
                }
            }
            return Entry(id: id, fields: fields)
        }
    }

    /// New entries (`>`) for this consumer.
    func readNew(_ agent: String) async throws -> Int {
        let entries = try await readGroup(agent, from: ">")
        if entries.isEmpty { return 0 }
        let acked = try await handle(agent, entries, redelivered: false)
        if acked < entries.count { watchClaims(agent) }
        return acked
    }

    /// Entries of the agent stay pending (unreadable ones wait for their next delivery, or a batch
    /// was refused): keep claiming its stream until nothing comes back for a whole claim window.
    private func watchClaims(_ agent: String) {
        claimWatch[agent] = ContinuousClock.now + claimWindow
    }

    /// How long after an agent's last activity its stream is still claimed from: entries of a
    /// dead worker become claimable only after `claimIdleMs`.
    var claimWindow: Duration { .milliseconds(configuration.claimIdleMs) + configuration.claimInterval * 3 }

    /// Entries pending on this consumer name (a restart under the same name): XREADGROUP from `0`.
    func drainOwnPending(_ agent: String) async throws -> Int {
        var cursor = "0"
        var handled = 0
        while true {
            let entries = try await readGroup(agent, from: cursor)
            guard let last = entries.last else { return handled }
            let acked = try await handle(agent, entries, redelivered: true)
            if acked < entries.count { watchClaims(agent) }
            handled += acked
            cursor = last.id
        }
    }

    /// Claims entries idle longer than `claimIdleMs` on any consumer (XAUTOCLAIM), one page per call.
    func recover(_ agent: String) async throws -> Int {
        let key = AgentKeys(agent).stream
        let start = claimCursor[agent] ?? "0-0"
        let reply = try await client.send(RedisCommand("XAUTOCLAIM", keys: [key], [configuration.group, configuration.consumerName,
                                                                                 String(configuration.claimIdleMs), start, "COUNT", "100"]))
        guard let parts = reply.array, parts.count >= 2 else { return 0 }
        claimCursor[agent] = parts[0].string ?? "0-0"
        let entries = Self.entries(parts[1])
        if entries.isEmpty { return 0 }
        watchClaims(agent)
        return try await handle(agent, entries, redelivered: true)
    }

    // MARK: - Applying

    /// A session's entries of one batch, as `worker_apply.lua` takes them.
    struct SessionBatch {
        var records: [UInt8] = []
        var last: Int64 = -1
        var ended = false
    }

    /// Checks the entries' shape, groups them by session and applies them in one script call.
    /// Entries that cannot be read stay pending; on a redelivery they are dead-lettered once delivered
    /// `maxDeliveries` times. Returns the entries acknowledged (applied or dead-lettered).
    func handle(_ agent: String, _ entries: [Entry], redelivered: Bool) async throws -> Int {
        let keys = AgentKeys(agent)
        var sessions: [String: SessionBatch] = [:]
        var order: [String] = []
        var acks: [String] = []
        var malformed: [(id: String, reason: String, j: [UInt8])] = []
        for e in entries {
            guard !e.fields.isEmpty else {
                acks.append(e.id)  // pending, but deleted from the stream (XDEL): nothing left to apply
                continue
            }
            guard let sid = e.field("s").map({ String(decoding: $0, as: UTF8.self) }), IdentifierRule.isValid(sid) else {
                malformed.append((e.id, "no valid field s (session id)", e.field("j") ?? []))
                continue
            }
            guard let record = e.field("r"), let (r, end) = try? JourneyRecord.decode(record, at: 0), end == record.count else {
                malformed.append((e.id, "no valid field r (journey record)", e.field("j") ?? []))
                continue
            }
            if sessions[sid] == nil { order.append(sid) }
            sessions[sid, default: SessionBatch()].records.append(contentsOf: record)
            if r.timestampMs > sessions[sid]!.last { sessions[sid]!.last = r.timestampMs }
            if r.type == .conversationEnd { sessions[sid]!.ended = true }
            acks.append(e.id)
        }
        var dead: [(id: String, reason: String, j: [UInt8])] = []
        if redelivered && !malformed.isEmpty {
            let counts = try await client.pipeline(malformed.map { RedisCommand("XPENDING", key: keys.stream, configuration.group, $0.id, $0.id, "1") })
            for (m, reply) in zip(malformed, counts) {
                guard let row = reply.array?.first?.array, row.count == 4, let deliveries = row[3].int else { continue }
                if deliveries >= configuration.maxDeliveries {
                    dead.append((m.id, "\(m.reason) (delivered \(deliveries) times)", m.j))
                } else {
                    logger.warning("malformed entry left pending", metadata: ["stream": "\(keys.stream)", "entry": "\(m.id)", "delivery": "\(deliveries)", "reason": "\(m.reason)"])
                }
            }
        } else {
            for m in malformed {
                logger.warning("malformed entry left pending", metadata: ["stream": "\(keys.stream)", "entry": "\(m.id)", "reason": "\(m.reason)"])
            }
        }
        if acks.isEmpty && dead.isEmpty { return 0 }
        var call = applyScript.call(keys: [keys.stream])
        call.append(keys.prefix)
        call.append(configuration.group)
        call.append(configuration.retention.session)
        call.append(configuration.retention.minute)
        call.append(configuration.retention.hour)
        call.append(configuration.retention.day)
        call.append(order.count)
        call.append(dead.count)
        call.append(acks.count)
        for sid in order {
            let s = sessions[sid]!
            call.append(sid)
            call.append(bytes: s.records)
            call.append(s.last)
            call.append(s.ended ? "1" : "0")
        }
        for d in dead {
            call.append(d.id)
            call.append(d.reason)
            call.append(bytes: d.j)
        }
        for id in acks { call.append(id) }
        let reply: RESPValue
        do {
            reply = try await client.evaluate(applyScript, call)
        } catch let e as RedisCommandError where !e.isTransient && !e.isNoScript {
            logger.error("worker_apply.lua refused a batch (entries stay pending)", metadata: ["stream": "\(keys.stream)", "error": "\(e)"])
            return 0
        }
        guard let r = reply.array?.compactMap(\.int), r.count == 3 else {
            throw RedisCommandError(message: "ERR unexpected reply from worker_apply.lua: \(reply)")
        }
        if r[1] > 0 { logger.warning("entries dead-lettered", metadata: ["stream": "\(keys.stream)", "entries": "\(r[1])"]) }
        WorkerMetrics.recordApply(finalized: r[0], deadLettered: r[1], acknowledged: r[2])
        return r[2]
    }
}
