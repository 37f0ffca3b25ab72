import InsightsModel
import Logging
import RedisClient

extension Worker {
    // MARK: - Sweep

    /// Finalizes as dropped every session of the agent idle past the timeout (event time, and the
    /// server clock with ``WorkerConfiguration/wallClockGraceMs``). Returns how many.
    public func sweep(_ agent: String) async throws -> Int {
        try await sweepOnce(agent).finalized
    }

    /// ``sweep(_:)``, and in how many ms the agent's next idle session can be due by the server clock
    /// (nil: none is idle, or the clock is not used).
    func sweepOnce(_ agent: String) async throws -> (finalized: Int, nextMs: Int?) {
        let keys = AgentKeys(agent)
        var total = 0
        while true {
            var call = sweepScript.call(keys: [keys.idle])
            call.append(keys.prefix)
            call.append(configuration.sessionTimeoutMs)
            call.append(100)
            call.append(configuration.retention.session)
            call.append(configuration.retention.minute)
            call.append(configuration.retention.hour)
            call.append(configuration.retention.day)
            call.append(configuration.wallClockGraceMs.map { String($0) } ?? "")
            let reply = try await client.evaluate(sweepScript, call)
            guard let r = reply.array?.compactMap(\.int), r.count == 3 else {
                throw RedisCommandError(message: "ERR unexpected reply from worker_sweep.lua: \(reply)")
            }
            total += r[0]
            WorkerMetrics.recordSweep(finalized: r[0])
            if r[1] < 100 { return (total, r[2] >= 0 ? r[2] : nil) }
        }
    }

    // MARK: - Compaction

    /// Compacts the agent's finalized sessions (docs/worker.md, *Compaction*): each one's hash,
    /// finalized records and any earlier compacted journey become one ``CompactJourney`` value.
    /// Returns how many were stored.
    public func compact(_ agent: String) async throws -> Int {
        try await compact(agent, pages: .max).stored
    }

    /// At most `pages` pages of 50 sessions; `more`: the last page was full (more may be due);
    /// `nextMs`: in how many ms the earliest session still queued is due (nil: none). The worker's
    /// loop takes one page per pass, so that compacting a backlog (deflate is CPU) never holds back
    /// new entries for long.
    func compact(_ agent: String, pages: Int) async throws -> (stored: Int, more: Bool, nextMs: Int?) {
        let keys = AgentKeys(agent)
        let page = 50
        var stored = 0
        for _ in 0..<pages {
            var lease = compactScript.call(keys: [keys.compactQueue])
            lease.append(keys.prefix)
            lease.append("lease")
            lease.append(page)
            lease.append(configuration.compactLeaseMs)
            let reply = try await client.evaluate(compactScript, lease).array ?? []
            let next = reply.first?.int ?? -1
            let nextMs = next >= 0 ? next : nil
            let sids = reply.dropFirst().compactMap(\.string)
            if sids.isEmpty { return (stored, false, nextMs) }
            let reads = try await client.pipeline(sids.flatMap { sid in
                [RedisCommand("HGETALL", key: keys.session(sid)), RedisCommand("GET", key: keys.finalJourney(sid)),
                 RedisCommand("GET", key: keys.compactJourney(sid))]
            })
            var args: [(sid: String, state: [UInt8], jflen: Int, blob: [UInt8], ids: [[UInt8]])] = []
            for (i, sid) in sids.enumerated() {
                let parts = [RESPValue.null] + Array(reads[3 * i..<3 * i + 3])
                do {
                    if let c = try Self.compacted(hash: parts[1].array ?? [], final: parts[2].bytes, earlier: parts[3].bytes) {
                        args.append((sid, Self.stateDigest(parts[1].array ?? []), parts[2].bytes?.count ?? 0, c.blob, c.ids))
                    } else {
                        args.append((sid, [], 0, [], []))  // nothing left to compact: off the queue
                    }
                } catch {
                    // Left leased: tried again when the lease ends. A corrupt value is a bug, logged each time.
                    logger.error("cannot compact session", metadata: ["agent": "\(agent)", "session": "\(sid)", "error": "\(error)"])
                }
            }
            var store = compactScript.call(keys: [keys.compactQueue])
            store.append(keys.prefix)
            store.append("store")
            store.append(configuration.retention.session)
            store.append(args.count)
            for a in args {
                store.append(a.sid)
                store.append(bytes: a.state)
                store.append(a.jflen)
                store.append(bytes: a.blob)
                store.append(a.ids.count)
                for id in a.ids { store.append(bytes: id) }
            }
            stored += try await client.evaluate(compactScript, store).int ?? 0
            if sids.count < page { return (stored, false, nextMs) }
        }
        return (stored, true, 0)
    }

    /// The compacted value of a finalized session from what the lease returned (its hash as a flat
    /// field/value list, its finalized records and an earlier compacted value), and the ids of its
    /// events. nil when there is nothing to compact (the hash is gone or the session is not finalized).
    static func compacted(hash: [RESPValue], final: [UInt8]?, earlier: [UInt8]?) throws -> (blob: [UInt8], ids: [[UInt8]])? {
        var own: [(name: [UInt8], value: [UInt8])] = []
        var finalized = false
        var i = 0
        while i + 1 < hash.count {
            let name = hash[i].string ?? "", value = hash[i + 1].bytes ?? []
            i += 2
            switch name {
            case "st":
                finalized = true
                own.append((Array(name.utf8), value))
            case "x", "iu", "it", "lu", "lb", "lt":
                // The expiry is set anew; the applied ids are the compacted events' ids; the live
                // state's times and type are for open sessions only (a finalized one is neither
                // active nor waiting, late events or not): ~40 bytes a session not kept.
                continue
            default:
                own.append((Array(name.utf8), value))
            }
        }
        guard finalized else { return nil }
        let old = try earlier.map { try CompactJourney.decode($0) }
        let records = CompactJourney.merge([old?.events ?? [], try JourneyRecord.decodeAll(final ?? [])])
        return (try CompactJourney(fields: own, events: records).encode(), records.map(\.idField))
    }

    /// The session hash's t0, m, l and st joined by NUL bytes: what `worker_compact.lua` compares to
    /// know that nothing changed the session since it was read (ingest overwrites t0, m and l).
    static func stateDigest(_ hash: [RESPValue]) -> [UInt8] {
        var values: [String: [UInt8]] = [:]
        var i = 0
        while i + 1 < hash.count {
            values[hash[i].string ?? ""] = hash[i + 1].bytes ?? []
            i += 2
        }
        return ["t0", "m", "l", "st"].map { values[$0] ?? [] }.joined(separator: [0]).map { $0 }
    }

    // MARK: - Trim, prune

    /// Deletes the group's consumers that hold no pending entry and have been idle for
    /// `consumerExpiryMs` (workers that stopped), atomically (`worker_prune.lua`); never this
    /// worker's own name. Returns the names deleted.
    public func pruneConsumers(_ agent: String) async throws -> [String] {
        var call = pruneScript.call(keys: [AgentKeys(agent).stream])
        call.append(configuration.group)
        call.append(configuration.consumerExpiryMs)
        call.append(configuration.consumerName)
        let reply = try await client.evaluate(pruneScript, call)
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Trims the agent's stream below the lowest pending entry, or (nothing pending) up to the
    /// group's last delivered entry. Never removes a pending or undelivered entry. Returns entries removed.
    public func trim(_ agent: String) async throws -> Int {
        let key = AgentKeys(agent).stream
        // One atomic snapshot of last-delivered-id and the pending summary.
        let exec = try await client.transaction([
            RedisCommand("XINFO", "GROUPS", key: key), RedisCommand("XPENDING", key: key, configuration.group),
        ])
        guard exec.count == 2 else { return 0 }
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
        return try await client.send("XTRIM", key: key, "MINID", floor).int ?? 0
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
}
