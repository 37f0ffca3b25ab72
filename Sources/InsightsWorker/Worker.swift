import Foundation
import InsightsModel
import Logging
import RedisClient

/// One member of the worker group: consumes every agent's stream through the consumer
/// group, applies events to journeys and sessions (`lua/worker_apply.lua`), finalizes idle
/// sessions (`lua/worker_sweep.lua`), claims entries of dead consumers, dead-letters poison
/// entries and trims the streams. Any number of workers may run at once (docs/worker.md).
public actor Worker {
    public nonisolated let configuration: WorkerConfiguration
    public nonisolated let client: RedisClient
    let applyScript: RedisScript
    let sweepScript: RedisScript
    let pruneScript: RedisScript
    private let logger: Logger

    private var agents: [String] = []
    private var agentsReadAt: ContinuousClock.Instant?
    private var groupsReady: Set<String> = []
    /// Agents whose own pending entries (from a previous life of this consumer) are drained.
    private var drained: Set<String> = []
    private var claimCursor: [String: String] = [:]
    private var claimedAt: ContinuousClock.Instant?
    /// The first trim comes one interval after start (trimming before anything was applied only costs
    /// Redis time, and it lets `make bench` time each part of the worker on its own).
    private var trimmedAt: ContinuousClock.Instant? = ContinuousClock.now
    private var sweptAt: ContinuousClock.Instant?

    public init(client: RedisClient, configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger = Logger(label: "insights.worker")) throws {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        let dir = configuration.luaDirectory
        self.applyScript = try RedisScript(concatenating: ["common", "worker_lib", "worker_apply"], directory: dir)
        self.sweepScript = try RedisScript(concatenating: ["common", "worker_lib", "worker_sweep"], directory: dir)
        self.pruneScript = try RedisScript(name: "worker_prune", directory: dir)
    }

    static func prefix(_ agent: String) -> String { "ins:{\(agent)}:" }

    // MARK: - Loop

    /// Processes until the surrounding task is cancelled. Errors are logged and retried after a pause.
    public func run() async {
        while !Task.isCancelled {
            do {
                let n = try await processOnce()
                if n == 0 { try await Task.sleep(for: configuration.idleDelay) }
            } catch is CancellationError {
                return
            } catch {
                logger.error("worker pass failed: \(error)")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// One pass over all agents: new entries, recovery, sweep and trim (each when due).
    /// Returns the number of entries acknowledged by this worker (applied or dead-lettered).
    @discardableResult
    public func processOnce() async throws -> Int {
        try await refreshAgents()
        var handled = 0
        for agent in agents {
            try await ensureGroup(agent)
            if !drained.contains(agent) {
                handled += try await drainOwnPending(agent)
                drained.insert(agent)
            }
            handled += try await readNew(agent)
        }
        let clock = ContinuousClock()
        if claimedAt.map({ clock.now - $0 >= configuration.claimInterval }) ?? true {
            for agent in agents { handled += try await recover(agent) }
            claimedAt = clock.now
        }
        if sweptAt.map({ clock.now - $0 >= configuration.sweepInterval }) ?? true {
            for agent in agents { _ = try await sweep(agent) }
            sweptAt = clock.now
        }
        if trimmedAt.map({ clock.now - $0 >= configuration.trimInterval }) ?? true {
            for agent in agents {
                _ = try await trim(agent)
                let gone = try await pruneConsumers(agent)
                if !gone.isEmpty { logger.info("removed gone consumers", metadata: ["agent": "\(agent)", "consumers": "\(gone)"]) }
            }
            trimmedAt = clock.now
        }
        return handled
    }

    private func refreshAgents() async throws {
        let clock = ContinuousClock()
        if let t = agentsReadAt, clock.now - t < configuration.agentRefreshInterval { return }
        let members = try await client.send("SMEMBERS", "ins:agents").array?.compactMap(\.string) ?? []
        agents = members.filter(Self.validID).sorted()
        agentsReadAt = clock.now
    }

    private func ensureGroup(_ agent: String) async throws {
        if groupsReady.contains(agent) { return }
        do {
            try await client.send("XGROUP", "CREATE", Self.prefix(agent) + "stream", configuration.group, "0", "MKSTREAM")
        } catch let e as RedisCommandError where e.code == "BUSYGROUP" {}
        groupsReady.insert(agent)
    }

    // MARK: - Reading

    struct Entry {
        var id: String
        var j: [UInt8]?
    }

    private func readGroup(_ agent: String, from id: String) async throws -> [Entry] {
        let key = Self.prefix(agent) + "stream"
        let reply: RESPValue
        do {
            reply = try await client.send(RedisCommand("XREADGROUP", ["GROUP", configuration.group, configuration.consumerName,
                                                                      "COUNT", String(configuration.batchSize), "STREAMS", key, id]))
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
            var j: [UInt8]?
            if let fields = pair[1].array {
                var i = 0
                while i + 1 < fields.count {
                    if fields[i].string == "j" { j = fields[i + 1].bytes }
                    i += 2
                }
            }
            return Entry(id: id, j: j)
        }
    }

    /// New entries (`>`) for this consumer.
    func readNew(_ agent: String) async throws -> Int {
        let entries = try await readGroup(agent, from: ">")
        if entries.isEmpty { return 0 }
        return try await handle(agent, entries, redelivered: false)
    }

    /// Entries pending on this consumer name (a restart under the same name): XREADGROUP from `0`.
    func drainOwnPending(_ agent: String) async throws -> Int {
        var cursor = "0"
        var handled = 0
        while true {
            let entries = try await readGroup(agent, from: cursor)
            guard let last = entries.last else { return handled }
            handled += try await handle(agent, entries, redelivered: true)
            cursor = last.id
        }
    }

    /// Claims entries idle longer than `claimIdleMs` on any consumer (XAUTOCLAIM), one page per call.
    func recover(_ agent: String) async throws -> Int {
        let key = Self.prefix(agent) + "stream"
        let start = claimCursor[agent] ?? "0-0"
        let reply = try await client.send(RedisCommand("XAUTOCLAIM", [key, configuration.group, configuration.consumerName,
                                                                      String(configuration.claimIdleMs), start, "COUNT", "100"]))
        guard let parts = reply.array, parts.count >= 2 else { return 0 }
        claimCursor[agent] = parts[0].string ?? "0-0"
        let entries = Self.entries(parts[1])
        if entries.isEmpty { return 0 }
        return try await handle(agent, entries, redelivered: true)
    }

    // MARK: - Applying

    /// Decodes the entries and applies them in one script call. Undecodable entries stay
    /// pending; on a redelivery they are dead-lettered once delivered `maxDeliveries` times.
    func handle(_ agent: String, _ entries: [Entry], redelivered: Bool) async throws -> Int {
        let prefix = Self.prefix(agent)
        let key = prefix + "stream"
        var call = applyScript.call(keys: [key])
        call.append(prefix)
        call.append(configuration.group)
        call.append(configuration.sessionRetention)
        call.append(configuration.minuteTTL)
        call.append(configuration.hourTTL)
        call.append(configuration.dayTTL)
        var args: [(kind: String, id: String, event: AnalyticsEvent?, reason: String, j: [UInt8])] = []
        var malformed: [(id: String, reason: String, j: [UInt8])] = []
        let now = EventClock.nowMs() + 86_400_000  // tolerate clock skew between machines
        for e in entries {
            guard let j = e.j else {
                malformed.append((e.id, "no field j", []))
                continue
            }
            switch EventDecoding.decode(json: Data(j), now: now) {
            case .success(let event) where Self.validID(event.sessionID):
                args.append(("A", e.id, event, "", j))
            case .success:
                malformed.append((e.id, "invalid session_id", j))
            case .failure(let error):
                malformed.append((e.id, "\(error)", j))
            }
        }
        if redelivered && !malformed.isEmpty {
            let counts = try await client.pipeline(malformed.map { RedisCommand("XPENDING", key, configuration.group, $0.id, $0.id, "1") })
            for (m, reply) in zip(malformed, counts) {
                guard let row = reply.array?.first?.array, row.count == 4, let deliveries = row[3].int else { continue }
                if deliveries >= configuration.maxDeliveries {
                    args.append(("D", m.id, nil, "\(m.reason) (delivered \(deliveries) times)", m.j))
                } else {
                    logger.warning("undecodable entry \(key) \(m.id) (delivery \(deliveries)): \(m.reason)")
                }
            }
        } else if !malformed.isEmpty {
            for m in malformed { logger.warning("undecodable entry \(key) \(m.id) left pending: \(m.reason)") }
        }
        if args.isEmpty { return 0 }
        call.append(args.count)
        for a in args {
            call.append(a.kind)
            call.append(a.id)
            if let ev = a.event {
                call.append(ev.eventID)
                call.append(ev.sessionID)
                call.append(ev.timestampMs)
                call.append(ev.eventType.rawValue)
                call.append(ev.eventType == .intentClassified ? (ev.intent ?? "") : "")
                call.append(ev.escalatedToHuman ? "1" : "0")
                call.append(bytes: a.j)
            } else {
                for _ in 0..<4 { call.append("") }
                call.append(a.reason)
                call.append("")
                call.append(bytes: a.j)
            }
        }
        let reply: RESPValue
        do {
            reply = try await client.evaluate(applyScript, call)
        } catch let e as RedisCommandError {
            logger.error("worker_apply.lua refused a batch of \(key) (entries stay pending): \(e)")
            return 0
        }
        guard let r = reply.array?.compactMap(\.int), r.count == 5 else {
            throw RedisCommandError(message: "ERR unexpected reply from worker_apply.lua: \(reply)")
        }
        return r[0] + r[2] + r[4]
    }

    // MARK: - Sweep, trim, lag

    /// Finalizes as dropped every session of the agent idle past the timeout (event time). Returns how many.
    public func sweep(_ agent: String) async throws -> Int {
        let prefix = Self.prefix(agent)
        var total = 0
        while true {
            var call = sweepScript.call(keys: [prefix + "idle"])
            call.append(prefix)
            call.append(configuration.sessionTimeoutMs)
            call.append(100)
            call.append(configuration.sessionRetention)
            call.append(configuration.minuteTTL)
            call.append(configuration.hourTTL)
            call.append(configuration.dayTTL)
            call.append(configuration.wallClockGraceMs.map { String($0) } ?? "")
            let reply = try await client.evaluate(sweepScript, call)
            guard let r = reply.array?.compactMap(\.int), r.count == 2 else {
                throw RedisCommandError(message: "ERR unexpected reply from worker_sweep.lua: \(reply)")
            }
            total += r[0]
            if r[1] < 100 { return total }
        }
    }

    /// Deletes the group's consumers that hold no pending entry and have been idle for
    /// `consumerExpiryMs` (workers that stopped), atomically (`worker_prune.lua`); never this
    /// worker's own name. Returns the names deleted.
    public func pruneConsumers(_ agent: String) async throws -> [String] {
        var call = pruneScript.call(keys: [Self.prefix(agent) + "stream"])
        call.append(configuration.group)
        call.append(configuration.consumerExpiryMs)
        call.append(configuration.consumerName)
        let reply = try await client.evaluate(pruneScript, call)
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Trims the agent's stream below the lowest pending entry, or (nothing pending) up to the
    /// group's last delivered entry. Never removes a pending or undelivered entry. Returns entries removed.
    public func trim(_ agent: String) async throws -> Int {
        let key = Self.prefix(agent) + "stream"
        // One atomic snapshot of last-delivered-id and the pending summary.
        let replies = try await client.pipeline([
            RedisCommand("MULTI"), RedisCommand("XINFO", "GROUPS", key), RedisCommand("XPENDING", key, configuration.group), RedisCommand("EXEC"),
        ])
        guard let exec = replies.last?.array, exec.count == 2 else { return 0 }
        guard let group = (try exec[0].get().array ?? []).compactMap({ $0.array }).first(where: { Self.field($0, "name")?.string == configuration.group }),
              let lastDelivered = Self.field(group, "last-delivered-id")?.string,
              let summary = try exec[1].get().array, summary.count == 4, let pending = summary[0].int
        else { return 0 }
        let floor: String
        if pending > 0, let lowest = summary[1].string {
            floor = lowest
        } else {
            guard let next = Self.nextID(lastDelivered) else { return 0 }
            floor = next
        }
        return try await client.send("XTRIM", key, "MINID", floor).int ?? 0
    }

    /// Entries not yet delivered to the group (`lag`) and pending, per agent and in total.
    public func lag() async throws -> LagReport {
        try await Self.lag(client: client, group: configuration.group)
    }

    /// ``lag()`` for any reader (the front's `/api/v1/status`): needs no worker, and does not queue
    /// behind a worker actor's own calls.
    public static func lag(client: RedisClient, group: String) async throws -> LagReport {
        let members = try await client.send("SMEMBERS", "ins:agents").array?.compactMap(\.string) ?? []
        var per: [String: StreamLag] = [:]
        var total = StreamLag()
        for agent in members.filter(Self.validID).sorted() {
            let key = Self.prefix(agent) + "stream"
            let reply = try await client.pipeline([RedisCommand("XINFO", "GROUPS", key), RedisCommand("XLEN", key)])
            var l = StreamLag()
            if case .array(let groups) = reply[0],
               let info = groups.compactMap({ $0.array }).first(where: { Self.field($0, "name")?.string == group }) {
                l.pending = Self.field(info, "pending")?.int ?? 0
                if let lag = Self.field(info, "lag")?.int {
                    l.lag = lag
                } else {
                    // lag is null when Redis cannot compute it (e.g. after XDEL): count the entries after last-delivered-id.
                    let last = Self.field(info, "last-delivered-id")?.string ?? "0-0"
                    l.lag = try await client.send("XRANGE", key, "(" + last, "+").array?.count ?? 0
                }
            } else {
                l.lag = reply[1].int ?? 0  // no group yet: nothing delivered
            }
            per[agent] = l
            total.lag += l.lag
            total.pending += l.pending
        }
        return LagReport(perAgent: per, total: total)
    }

    // MARK: - Helpers

    static func field(_ flat: [RESPValue], _ name: String) -> RESPValue? {
        var i = 0
        while i + 1 < flat.count {
            if flat[i].string == name { return flat[i + 1] }
            i += 2
        }
        return nil
    }

    /// The stream id right after `id` (`ms-seq` → `ms-(seq+1)`).
    static func nextID(_ id: String) -> String? {
        let parts = id.split(separator: "-")
        guard parts.count == 2, let ms = UInt64(parts[0]), let seq = UInt64(parts[1]) else { return nil }
        return seq == .max ? "\(ms + 1)-0" : "\(ms)-\(seq + 1)"
    }

    /// ``IdentifierRule`` (docs/keys.md): ids that can go into key names.
    static func validID(_ s: String) -> Bool { IdentifierRule.isValid(s) }
}
