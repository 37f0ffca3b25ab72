import InsightsModel
import RedisClient

/// Reads what Insights stored, whatever stage of a session's life it is in (docs/keys.md), so that
/// tests compare values, not encodings: bucket counters (a MessagePack map per bucket), a session's
/// own fields (its hash, or the header of its compacted value), its de-dup ids and its journey.
public struct StorageInspector: Sendable {
    public let client: RedisClient

    public init(client: RedisClient) { self.client = client }

    /// The counters of a bucket by field name (stored as codes, ``CounterCode``), e.g.
    /// `counters("acme", "c:h:1764576000")`; empty if none.
    public func counters(_ agent: String, _ suffix: String) async throws -> [String: Int] {
        guard let blob = try await client.send("GET", key: AgentKeys(agent).prefix + suffix).bytes else { return [:] }
        let value = try MessagePack.decode(blob)
        var out: [String: Int] = [:]
        for (k, v) in value.mapValue ?? [] { out[CounterCode.name(k), default: 0] += Int(v.intValue ?? 0) }
        return out
    }

    /// A session's own fields (ingest's t0/m/l/x, the workers' state and outcome snapshot), from its
    /// hash or, once compacted, from the compacted value's header. Empty if the session is unknown.
    public func session(_ agent: String, _ sid: String) async throws -> [String: String] {
        let (own, _) = try await sessionFields(agent, sid)
        return own
    }

    /// The event ids a finalized session has applied (decoded) → "1": its finalized records', those
    /// of its compacted value, and of `iu`/`it` (a reopened compacted session).
    public func sessionIDs(_ agent: String, _ sid: String) async throws -> [String: String] {
        var (_, ids) = try await sessionFields(agent, sid)
        if let raw = try await client.send("GET", key: AgentKeys(agent).finalJourney(sid)).bytes {
            for r in try JourneyRecord.decodeAll(raw) { if let id = r.eventID { ids[id] = "1" } }
        }
        return ids
    }

    func sessionFields(_ agent: String, _ sid: String) async throws -> ([String: String], [String: String]) {
        let keys = AgentKeys(agent)
        var raw: [(String, [UInt8])] = []
        var ids: [String: String] = [:]
        let flat = try await client.send("HGETALL", key: keys.session(sid)).array ?? []
        if !flat.isEmpty {
            var i = 0
            while i + 1 < flat.count {
                raw.append((flat[i].string ?? "", flat[i + 1].bytes ?? []))
                i += 2
            }
        } else if let blob = try await client.send("GET", key: keys.compactJourney(sid)).bytes {
            let c = try CompactJourney.decode(blob)
            raw = c.fields.map { (String(decoding: $0.name, as: UTF8.self), $0.value) }
            for e in c.events { if let id = e.eventID { ids[id] = "1" } }
        } else {
            return ([:], [:])
        }
        var own: [String: String] = [:]
        for (name, value) in raw {
            switch name {
            case "st":
                own["fin"] = "1"
                for (field, v) in try FinalizedState.decode(value).named { own[field] = v }
            case "iu":
                for start in stride(from: 0, to: value.count, by: 16) {
                    if let id = StoredEventID.id([0x01] + value[start..<min(start + 16, value.count)]) { ids[id] = "1" }
                }
            case "it":
                for line in value.split(separator: UInt8(ascii: "\n")) where !line.isEmpty { ids[String(decoding: line, as: UTF8.self)] = "1" }
            default:
                own[name] = String(decoding: value, as: UTF8.self)
            }
        }
        return (own, ids)
    }

    /// The session's journey: its event ids in time order (ties in id order), each once.
    public func journey(_ agent: String, _ sid: String) async throws -> [String] {
        try await journeyRecords(agent, sid).compactMap(\.eventID)
    }

    public func journeyRecords(_ agent: String, _ sid: String) async throws -> [JourneyRecord] {
        let keys = AgentKeys(agent)
        var pieces: [[JourneyRecord]] = []
        if let z = try await client.send("GET", key: keys.compactJourney(sid)).bytes { pieces.append(try CompactJourney.decode(z).events) }
        for key in [keys.finalJourney(sid), keys.journey(sid)] {
            if let raw = try await client.send("GET", key: key).bytes { pieces.append(try JourneyRecord.decodeAll(raw)) }
        }
        return CompactJourney.merge(pieces).sorted {
            $0.timestampMs != $1.timestampMs ? $0.timestampMs < $1.timestampMs : ($0.eventID ?? "") < ($1.eventID ?? "")
        }
    }

    /// The ids in the agent's de-dup set of arrival day `day` (days since the epoch, server time).
    public func dedupIDs(_ agent: String, day: Int) async throws -> Set<String> {
        let members = try await client.send("SMEMBERS", key: AgentKeys(agent).prefix + "d:\(day)").array ?? []
        return Set(members.compactMap { $0.bytes.flatMap(StoredEventID.id) })
    }

    /// Whether the session is finalized (its hash says so, or it is compacted).
    public func finalized(_ agent: String, _ sid: String) async throws -> Bool {
        try await session(agent, sid)["fin"] == "1"
    }

    /// How many keys of each kind (`ins:{<agent>}:<kind>[:…]`, e.g. `c`, `jz`, `sess`) the Redis holds, over all agents.
    public func keyKinds() async throws -> [String: Int] {
        var kinds: [String: Int] = [:]
        for key in try await client.scanKeys(matching: "ins:{*}:*") {
            guard let close = key.firstIndex(of: "}") else { continue }
            let kind = key[key.index(after: close)...].dropFirst().split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            kinds[kind, default: 0] += 1
        }
        return kinds
    }
}
