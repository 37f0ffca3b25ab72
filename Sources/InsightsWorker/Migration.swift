#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import InsightsModel
import Logging
import RedisClient

/// `insights migrate`: converts, in place, data of the storage format before issue 13 into the
/// current one (docs/keys.md, *Earlier format*). Run it with ingest and workers stopped. Each step
/// converts one key (or stream entry) and deletes what it replaced in one MULTI/EXEC, so a run that
/// is interrupted can simply be started again; a Redis with nothing to convert is left as it is.
public struct Migration: Sendable {
    public let client: RedisClient
    public let retention: Retention
    public let group: String
    let logger: Logger

    public init(client: RedisClient, retention: Retention = .default, group: String = "workers",
                logger: Logger = Logger(label: "insights.migrate")) {
        self.client = client
        self.retention = retention
        self.group = group
        self.logger = logger
    }

    /// What a run converted.
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var agents = 0, buckets = 0, streamEntries = 0, sessions = 0, compacted = 0, dedupIDs = 0, undecodable = 0
        public var description: String {
            "\(agents) agents: \(buckets) buckets, \(streamEntries) stream entries, \(sessions) sessions "
                + "(\(compacted) finalized, compacted), \(dedupIDs) de-dup ids; \(undecodable) entries left as they were (not decodable)"
        }
    }

    public func run() async throws -> Report {
        var report = Report()
        for agent in try await legacyAgents() {
            report.agents += 1
            let keys = AgentKeys(agent)
            let unapplied = try await migrateStream(keys, &report)
            try await migrateSessions(keys, unapplied: unapplied, &report)
            try await migrateBuckets(keys, &report)
            try await migrateSeen(keys, &report)
            logger.info("agent migrated", metadata: ["agent": "\(agent)"])
        }
        try await client.send("SET", key: AgentKeys.schema, AgentKeys.schemaVersion)
        return report
    }

    /// Agents of `ins:agents` and any agent with a key of the earlier format.
    func legacyAgents() async throws -> [String] {
        var agents = Set(try await client.send("SMEMBERS", key: AgentKeys.agents).array?.compactMap(\.string) ?? [])
        for key in try await scan("ins:{*}:*") {
            if let close = key.firstIndex(of: "}"), key.hasPrefix("ins:{") {
                agents.insert(String(key[key.index(key.startIndex, offsetBy: 5)..<close]))
            }
        }
        return agents.filter { IdentifierRule.isValid($0) }.sorted()
    }

    func scan(_ pattern: String) async throws -> [String] {
        try await client.scanKeys(matching: pattern)
    }

    /// Runs commands as one MULTI/EXEC on one connection; error replies inside throw.
    func transaction(_ commands: [RedisCommand]) async throws {
        for r in try await client.transaction(commands) { _ = try r.get() }
    }

    // MARK: Stream entries

    /// Entries not yet acknowledged by the group (pending or never delivered) become entries of the
    /// current format (the old ones acknowledged and deleted); acknowledged ones are deleted.
    /// Returns the latest time of the converted (not yet applied) events per session.
    func migrateStream(_ keys: AgentKeys, _ report: inout Report) async throws -> [String: Int64] {
        var latest: [String: Int64] = [:]
        var pending = Set<String>(), lastDelivered = "0-0", hasGroup = false
        if case .array(let groups)? = try? await client.send("XINFO", "GROUPS", key: keys.stream),
           let info = groups.compactMap(\.array).first(where: { Worker.field($0, "name")?.string == group }) {
            hasGroup = true
            lastDelivered = Worker.field(info, "last-delivered-id")?.string ?? "0-0"
            var start = "-"
            while true {
                let rows = try await client.send("XPENDING", key: keys.stream, group, start, "+", "1000").array ?? []
                let ids = rows.compactMap { $0.array?.first?.string }
                pending.formUnion(ids)
                guard ids.count == 1000, let last = ids.last else { break }
                start = "(" + last
            }
        }
        var start = "-", lastOld: String?
        let now = EventClock.nowMs() + 86_400_000
        while true {
            let page = Worker.entries(try await client.send("XRANGE", key: keys.stream, start, "+", "COUNT", "500"))
            for e in page {
                guard let j = e.field("j") else { continue }  // already the current format (or not ours)
                lastOld = e.id
                let acknowledged = hasGroup && !pending.contains(e.id) && Self.compare(e.id, lastDelivered) <= 0
                var commands: [RedisCommand] = []
                if !acknowledged {
                    guard case .success(let event) = EventDecoding.decode(json: Data(j), now: now) else {
                        report.undecodable += 1  // the workers dead-letter it, as before
                        continue
                    }
                    var add = RedisCommand("XADD", key: keys.stream, "*", "s", event.sessionID, "r")
                    add.append(bytes: JourneyRecord(event: event).encoded())
                    commands.append(add)
                    latest[event.sessionID] = max(latest[event.sessionID] ?? .min, event.timestampMs)
                    if pending.contains(e.id) { commands.append(RedisCommand("XACK", key: keys.stream, group, e.id)) }
                    report.streamEntries += 1
                }
                commands.append(RedisCommand("XDEL", keys.stream, e.id))
                try await transaction(commands)
            }
            guard page.count == 500, let last = page.last else { break }
            start = "(" + last.id
        }
        if let lastOld { try await resetGroup(keys, after: Self.compare(lastOld, lastDelivered) > 0 ? lastOld : lastDelivered, exists: hasGroup) }
        return latest
    }

    /// Places the group after every entry of the earlier format, counting them as read: with entries
    /// deleted, Redis could no longer tell the group's lag (`XINFO GROUPS`, read by
    /// `/api/v1/status`), and would report the deleted ones as still to read.
    func resetGroup(_ keys: AgentKeys, after id: String, exists: Bool) async throws {
        let info = try await client.send("XINFO", "STREAM", key: keys.stream).array ?? []
        let added = Worker.field(info, "entries-added")?.int ?? 0, length = Worker.field(info, "length")?.int ?? 0
        try await client.send("XGROUP", exists ? "SETID" : "CREATE", keys.stream, group, id, "ENTRIESREAD", String(max(0, added - length)))
    }

    /// Stream ids `ms-seq` in order.
    static func compare(_ a: String, _ b: String) -> Int {
        func parts(_ s: String) -> (UInt64, UInt64) {
            let p = s.split(separator: "-")
            return (UInt64(p.first ?? "0") ?? 0, UInt64(p.count > 1 ? p[1] : "0") ?? 0)
        }
        let (x, y) = (parts(a), parts(b))
        return x == y ? 0 : (x < y ? -1 : 1)
    }

    // MARK: Sessions and journeys

    func migrateSessions(_ keys: AgentKeys, unapplied: [String: Int64], _ report: inout Report) async throws {
        var sids = Set<String>()
        for kind in ["sess:", "sf:", "journey:"] {
            for key in try await scan(keys.prefix + kind + "*") { sids.insert(String(key.dropFirst(keys.prefix.count + kind.count))) }
        }
        let now = EventClock.nowMs() + 86_400_000
        for sid in sids.sorted() {
            let sessKey = AgentKeys.Legacy.sessionState(keys, sid), sfKey = AgentKeys.Legacy.sessionFirst(keys, sid)
            let journeyKey = AgentKeys.Legacy.journey(keys, sid)
            let replies = try await client.pipeline([
                RedisCommand("HGETALL", key: sessKey), RedisCommand("HGETALL", key: sfKey), RedisCommand("ZRANGE", key: journeyKey, "0", "-1"),
                RedisCommand("PTTL", key: journeyKey), RedisCommand("PTTL", key: sessKey), RedisCommand("PTTL", key: sfKey),
            ])
            let sess = try replies[0].get().fieldValues ?? [:], sf = try replies[1].get().fieldValues ?? [:]
            var records: [JourneyRecord] = []
            for member in try replies[2].get().array ?? [] {
                if case .success(let e) = EventDecoding.decode(json: Data(member.bytes ?? []), now: now) { records.append(JourneyRecord(event: e)) }
            }
            records = CompactJourney.merge([records])
            let ttlMs = [replies[3], replies[4], replies[5]].compactMap { $0.int }.filter { $0 > 0 }.max() ?? Int(retention.session) * 1000
            let first = sess["first"] ?? sf["t0"] ?? records.first.map { String($0.timestampMs) } ?? "0"
            // Ingest's latest time: of the applied events and of those still to apply.
            let lastMs = max(Int64(sess["last"] ?? "") ?? .min, records.last?.timestampMs ?? .min, unapplied[sid] ?? .min)
            let last = lastMs == .min ? first : String(lastMs)
            var own: [(name: [UInt8], value: [UInt8])] = [(Array("t0".utf8), Array((sf["t0"] ?? first).utf8)),
                                                          (Array("m".utf8), Array((sf["m"] ?? "0").utf8)),
                                                          (Array("l".utf8), Array(last.utf8))]
            var commands: [RedisCommand] = []
            if sess["finalized"] == "1" {
                let st = MessagePack.encode(.array([
                    Self.int(sess["first"]), Self.int(sess["last"]), Self.int(sess["turns"]), .bytes(Array((sess["last_intent"] ?? "").utf8)),
                    sess["last_intent_ts"].flatMap(Int64.init).map { .int($0) } ?? .int(-1), Self.int(sess["escalated"]),
                    Self.int(sess["ended"]), Self.int(sess["wf_started"]), Self.int(sess["wf_completed"]), Self.int(sess["wf_failed"]),
                    Self.int(sess["f_start"]), .bytes(Array((sess["f_out"] ?? "dropped").utf8)), .bytes(Array((sess["f_drop"] ?? "").utf8)),
                    Self.int(sess["f_esc"]), Self.int(sess["f_turns"]),
                ]))
                own.append((Array("st".utf8), st))
                var set = RedisCommand("SET", key: keys.compactJourney(sid))
                set.append(bytes: try CompactJourney(fields: own, events: records).encode())
                set.append("PX")
                set.append(ttlMs)
                commands.append(set)
                report.compacted += 1
            } else {
                var hset = RedisCommand("HSET", key: keys.session(sid))
                for f in own { hset.append(bytes: f.name); hset.append(bytes: f.value) }
                commands += [hset, RedisCommand("PEXPIRE", keys.session(sid), String(ttlMs))]
                if !records.isEmpty {
                    var append = RedisCommand("APPEND", keys.journey(sid))
                    var bytes: [UInt8] = []
                    for r in records { r.encode(into: &bytes) }
                    append.append(bytes: bytes)
                    commands += [append, RedisCommand("PEXPIRE", keys.journey(sid), String(ttlMs))]
                }
            }
            commands.append(RedisCommand("DEL", key: sessKey, sfKey, journeyKey))
            try await transaction(commands)
            report.sessions += 1
        }
    }

    static func int(_ s: String?) -> MessagePack.Value { .int(s.flatMap(Int64.init) ?? 0) }

    // MARK: Buckets and de-dup sets

    /// `b:<g>:<start>` hashes into `c:<g>:<start>` counter maps, their fields as codes (``CounterCode``;
    /// added to any new one of the same bucket).
    func migrateBuckets(_ keys: AgentKeys, _ report: inout Report) async throws {
        for old in try await scan(AgentKeys.Legacy.buckets(keys)) {
            let suffix = old.dropFirst(keys.prefix.count + 2)  // "<g>:<start>"
            let new = keys.prefix + "c:" + suffix
            let replies = try await client.pipeline([RedisCommand("HGETALL", key: old), RedisCommand("GET", key: new), RedisCommand("EXPIRETIME", key: old)])
            var sums: [String: Int64] = [:]
            for (k, v) in try replies[0].get().fieldValues ?? [:] { sums[CounterCode.code(k), default: 0] += Int64(v) ?? 0 }
            if let blob = try replies[1].get().bytes {
                for (k, v) in try MessagePack.decode(blob).mapValue ?? [] { sums[String(decoding: k, as: UTF8.self), default: 0] += v.intValue ?? 0 }
            }
            var set = RedisCommand("SET", key: new)
            set.append(bytes: MessagePack.encode(.map(sums.map { (Array($0.key.utf8), .int($0.value)) })))
            if let at = try replies[2].get().int, at > 0 {
                set.append("EXAT")
                set.append(at)
            }
            try await transaction([set, RedisCommand("DEL", key: old)])
            report.buckets += 1
        }
    }

    /// `seen:<day>` sets of event ids into `d:<day>` sets of stored ids (same expiry).
    func migrateSeen(_ keys: AgentKeys, _ report: inout Report) async throws {
        for old in try await scan(AgentKeys.Legacy.seen(keys)) {
            let day = old.dropFirst(keys.prefix.count + "seen:".count)
            let new = keys.prefix + "d:" + day
            let replies = try await client.pipeline([RedisCommand("SMEMBERS", key: old), RedisCommand("EXPIRETIME", key: old)])
            let ids = try replies[0].get().array?.compactMap(\.string) ?? []
            var commands: [RedisCommand] = []
            for start in stride(from: 0, to: ids.count, by: 1000) {
                var sadd = RedisCommand("SADD", key: new)
                for id in ids[start..<min(start + 1000, ids.count)] { sadd.append(bytes: StoredEventID.field(id)) }
                commands.append(sadd)
            }
            if let at = try replies[1].get().int, at > 0, !ids.isEmpty { commands.append(RedisCommand("EXPIREAT", key: new, String(at))) }
            commands.append(RedisCommand("DEL", key: old))
            try await transaction(commands)
            report.dedupIDs += ids.count
        }
    }
}
