import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
@testable import InsightsWorker
import RedisClient
import Testing

/// Compacted sessions (docs/worker.md, *Compaction*): one value per finalized session, the same
/// journey and counters, exact de-dup and late events after it.
@Suite("Compaction")
struct CompactionTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    let B: Int64
    let H: Int64
    let keys = AgentKeys("acme")
    var inspect: StorageInspector { StorageInspector(client: client) }

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
        let now = Int64(Date().timeIntervalSince1970)
        H = (now / 3600 - 2) * 3600
        B = (H + 600) * 1000
    }

    func ev(_ id: String, _ ts: Int64, _ type: EventType, _ session: String, intent: String? = nil) -> AnalyticsEvent {
        var data: [String: JSONValue] = [:]
        if let intent { data["intent"] = .string(intent) }
        return AnalyticsEvent(eventID: id, eventType: type, timestampMs: ts, sessionID: session, agentID: "acme", data: data)
    }

    /// Compaction runs when `settle` asks for it (its own interval far longer than any test).
    func worker() throws -> Worker {
        var c = WorkerConfiguration(
            consumerName: "c", sessionTimeoutMs: 60_000, wallClockGraceMs: 0, claimInterval: .zero, agentRefreshInterval: .zero,
            trimInterval: .seconds(3600), sweepInterval: .zero)
        c.compactInterval = .seconds(3600)
        return try Worker(client: client, configuration: c)
    }

    /// Applies, sweeps and compacts until nothing is left to do.
    func settle(_ w: Worker) async throws {
        for _ in 0..<20 {
            _ = try await w.processOnce()
            _ = try await w.sweep("acme")
            _ = try await w.compact("acme")
            let lag = try await w.lag().total.total
            let queued = try await client.send("ZCARD", key: keys.compactQueue).int ?? 0
            let idle = try await client.send("ZCARD", key: keys.idle).int ?? 0
            if lag == 0 && queued == 0 && idle == 0 { return }
        }
        Issue.record("the worker did not settle")
    }

    func outcome() async throws -> [String: Int] {
        try await inspect.counters("acme", "c:h:\(H)").filter { ($0.key.hasPrefix("out:") || $0.key.hasPrefix("drop:")) && $0.value != 0 }
    }

    var dropped: [AnalyticsEvent] {
        [ev("d1", B, .conversationStart, "d"), ev("d2", B + 1000, .userMessage, "d"),
         ev("d3", B + 2000, .intentClassified, "d", intent: "billing")]
    }
    var ended: [AnalyticsEvent] {
        [ev("e1", B + 10_000, .conversationStart, "e"), ev("e2", B + 11_000, .userMessage, "e"), ev("e3", B + 12_000, .conversationEnd, "e")]
    }

    @Test func aFinalizedSessionBecomesOneValueWithTheSameJourneyAndCounters() async throws {
        _ = try await ingestor.ingest(dropped + ended)
        let today = Int(Date().timeIntervalSince1970) / 86400
        #expect(try await inspect.dedupIDs("acme", day: today).count == 6)
        let w = try worker()
        try await settle(w)
        for sid in ["d", "e"] {
            #expect(try await client.send("EXISTS", keys.session(sid), keys.journey(sid), keys.finalJourney(sid)).int == 0)
            #expect(try await client.send("TTL", keys.compactJourney(sid)).int ?? 0 > 35 * 86400 - 100)
        }
        #expect(try await inspect.journey("acme", "d") == ["d1", "d2", "d3"])
        #expect(try await inspect.journey("acme", "e") == ["e1", "e2", "e3"])
        #expect(try await inspect.session("acme", "d")["fo"] == "dropped")
        #expect(try await outcome() == ["out:sessions": 2, "out:ended": 1, "out:dropped": 1, "drop:billing": 1,
                                        "out:automated": 2, "out:turns": 2])
        // The compacted value keeps the session's own fields but the live state's (open sessions only).
        let header = try CompactJourney.decode(try #require(try await client.send("GET", key: keys.compactJourney("e")).bytes))
        #expect(header.fields.map { String(decoding: $0.name, as: UTF8.self) }.sorted() == ["l", "m", "st", "t0"])
        // The compacted values hold the ids now: the day's de-dup set lets them go.
        #expect(try await inspect.dedupIDs("acme", day: today).isEmpty)
        // A re-sent event of a compacted session is still a duplicate.
        #expect(try await ingestor.ingest([dropped[1], ended[2]]) == IngestResult(accepted: 0, duplicates: 2))
        #expect(try await inspect.counters("acme", "c:h:\(H)")["events"] == 6)
    }

    /// Session d compacted (`dropped`): a later intent and message reopen it; re-sent while reopened
    /// and once compacted again, every event is a duplicate; its outcome corrected once. Returns the late events.
    @discardableResult
    func reopenWithLateEvents(_ w: Worker) async throws -> [AnalyticsEvent] {
        let late = [ev("d4", B + 3000, .intentClassified, "d", intent: "cancel"), ev("d5", B + 4000, .userMessage, "d")]
        #expect(try await ingestor.ingest(late).accepted == 2)
        #expect(try await ingestor.ingest(dropped + late).duplicates == 5)
        try await settle(w)
        #expect(try await outcome() == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 2])
        #expect(try await inspect.journey("acme", "d") == ["d1", "d2", "d3", "d4", "d5"])
        #expect(try await ingestor.ingest(dropped + late).duplicates == 5)
        return late
    }

    @Test func aLateEventReopensACompactedSessionAndCorrectsItOnce() async throws {
        _ = try await ingestor.ingest(dropped)
        let w = try worker()
        try await settle(w)
        #expect(try await outcome() == ["out:sessions": 1, "out:dropped": 1, "drop:billing": 1, "out:automated": 1, "out:turns": 1])
        // A later intent and message: the session is reopened from its compacted value, corrected, compacted again.
        let late = try await reopenWithLateEvents(w)
        #expect(try await client.send("EXISTS", keys.session("d")).int == 0)
        let counters = try await inspect.counters("acme", "c:h:\(H)")
        #expect(counters["events"] == 5 && counters["conversations"] == 1 && counters["sess_msgs"] == 2)
        // The same event written into the stream again (as after the de-dup window) is applied once.
        var copy = RedisCommand("XADD", key: keys.stream, "*", "s", "d", "r")
        copy.append(bytes: JourneyRecord(event: late[1]).encoded())
        try await client.send(copy)
        try await settle(w)
        #expect(try await outcome() == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 2])
        #expect(try await inspect.journey("acme", "d") == ["d1", "d2", "d3", "d4", "d5"])
    }

    /// A compacted header leaves out `t0`, `l` and `dm` (its state has them); late events that reopen
    /// the session find them again: its channel's slice keeps the session once, and its first event's time.
    @Test func aReopenedSessionKeepsWhatItsHeaderLeftOut() async throws {
        func web(_ e: [AnalyticsEvent]) -> [AnalyticsEvent] { e.map { var e = $0; e.channel = "web"; return e } }
        _ = try await ingestor.ingest(web(dropped))
        let w = try worker()
        try await settle(w)
        let blob = try #require(try await client.send("GET", key: keys.compactJourney("d")).bytes)
        let h = Int(blob[2]) | Int(blob[3]) << 8
        let names = try MessagePack.decode(blob[6..<6 + h])["h"]?.mapValue?.map { String(decoding: $0.key, as: UTF8.self) }
        #expect(Array(blob[0..<2]) == [0x5A, 0x03] && names?.sorted() == ["m", "st"])
        let restored = try CompactJourney.decode(blob).fields.map { String(decoding: $0.name + [0x3D] + $0.value, as: UTF8.self) }
        #expect(restored.contains("t0=\(B)") && restored.contains("l=\(B + 2000)") && restored.contains("dm=web\u{1F}\u{1F}"))
        func slice() async throws -> [String: Int] { try await inspect.counters("acme", "c:h:\(H):ch=web").filter { $0.value != 0 } }
        var s = try await slice()
        #expect(s["out:sessions"] == 1 && s["out:automated"] == 1)
        let late = web([ev("d4", B + 3000, .intentClassified, "d", intent: "cancel"), ev("d5", B + 4000, .userMessage, "d")])
        #expect(try await ingestor.ingest(late).accepted == 2)
        try await settle(w)
        #expect(try await outcome() == ["out:sessions": 1, "out:dropped": 1, "drop:cancel": 1, "out:automated": 1, "out:turns": 2])
        s = try await slice()
        #expect(s["out:sessions"] == 1 && s["out:automated"] == 1)
        let counters = try await inspect.counters("acme", "c:h:\(H)")
        #expect(counters["conversations"] == 1 && counters["events"] == 5)
        #expect(try await inspect.session("acme", "d")["first"] == "\(B)")
    }

    /// A compacted value in the format before stop 24 (version 1: the ids as a list of stored forms,
    /// no id flag in the events), written the way that code wrote it.
    func version1(_ c: CompactJourney) throws -> [UInt8] {
        func varint(_ value: Int64, _ out: inout [UInt8]) {
            var v = UInt64(value)
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        var body: [UInt8] = [], previous: Int64 = 0
        for e in c.events {
            varint(e.timestampMs - previous, &body)
            previous = e.timestampMs
            body += [e.type.code, e.flags]
            if let rt = e.responseTimeMs { varint(Int64(rt), &body) }
            varint(Int64(e.data.count), &body)
            body += e.data
        }
        let header = MessagePack.encode(.map([(Array("h".utf8), .map(c.fields.map { ($0.name, .bytes($0.value)) })),
                                              (Array("i".utf8), .array(c.events.map { .bytes($0.idField) }))]))
        let n = UInt32(header.count)
        return [0x5A, 0x01, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + header
            + (try Deflate.compress(body, dictionary: CompactJourney.dictionary))
    }

    @Test func aSessionCompactedInVersion1StillDeDupsAndReopens() async throws {
        _ = try await ingestor.ingest(dropped)
        let w = try worker()
        try await settle(w)
        let key = keys.compactJourney("d")
        let current = try CompactJourney.decode(try #require(try await client.send("GET", key: key).bytes))
        let old = try version1(current)
        let reread = try CompactJourney.decode(old)
        #expect(Array(old.prefix(2)) == [0x5A, 0x01] && reread == current)
        var set = RedisCommand("SET", key: key)
        set.append(bytes: old)
        set.append("KEEPTTL")
        try await client.send(set)
        // A re-sent event is a duplicate; late events reopen it with every id it had, corrected once, compacted anew.
        #expect(try await ingestor.ingest([dropped[1]]) == IngestResult(accepted: 0, duplicates: 1))
        try await reopenWithLateEvents(w)
        #expect(try await client.send("GETRANGE", key: key, "0", "1").bytes == [0x5A, 0x03])
    }

    /// Finalized states written before stop 25 (version 3: 21 items, times relative, the outcome kept,
    /// its path `true`) and before stop 24 (20 items: absolute times, the path spelled out) are
    /// corrected by late events as exactly as a state of version 4.
    @Test(arguments: [21, 20]) func anOlderStateIsCorrectedByLateEvents(items count: Int) async throws {
        _ = try await ingestor.ingest(dropped)
        let w = try worker()
        try await settle(w)
        let key = keys.compactJourney("d")
        var c = try CompactJourney.decode(try #require(try await client.send("GET", key: key).bytes))
        let at = try #require(c.fields.firstIndex { $0.name == Array("st".utf8) })
        let v4 = try #require(try MessagePack.decode(c.fields[at].value).arrayValue)
        // Version 4 as written: last 2 000 ms after the first (d1 at B, d3 at B + 2 000), the last
        // intent and its time `true` (the last of the intents, relative), no outcome.
        #expect(v4.count == 14 && v4[13] == .int(4) && v4[0] == .int(B) && v4[1] == .int(2000))
        #expect(v4[3] == .bool(true) && v4[4] == .bool(true) && v4[11] == .array([.int(2000), .bytes(Array("billing".utf8))]))
        let billing = MessagePack.Value.bytes(Array("billing".utf8))
        let relative = count == 21
        let t = { (ms: Int64) -> MessagePack.Value in .int(relative ? ms : B + ms) }
        // first, last, turns, li, lit, esc, ended, wfs, wfc, wff, then the outcome contributed
        // (start, out, drop, esc, turns), err, intents, the outcome's error flag and path, dm.
        var items: [MessagePack.Value] = [.int(B), t(2000), v4[2], billing, t(2000), v4[5], v4[6], v4[7], v4[8], v4[9],
                                          t(0), .bytes(Array("dropped".utf8)), billing, v4[5], v4[2], v4[10],
                                          .array([t(2000), billing]), v4[10], relative ? .bool(true) : billing, v4[12]]
        if relative { items.append(.int(3)) }
        c.fields[at].value = MessagePack.encode(.array(items))
        var set = RedisCommand("SET", key: key)
        set.append(bytes: try c.encode())
        set.append("KEEPTTL")
        try await client.send(set)
        try await reopenWithLateEvents(w)
        // The old path's count went back to nothing, the new one (billing, then cancel) has the session.
        let paths = try await client.send("HGETALL", key: "ins:{acme}:c:h:\(H):p").array?.compactMap(\.string)
        #expect(paths == ["p:billing\u{1F}cancel", "1:0:0"])
    }

    @Test func aSessionThatChangedAfterItWasReadIsNotStored() async throws {
        _ = try await ingestor.ingest(ended)
        let w = try worker()
        _ = try await w.processOnce()  // applies and finalizes (conversation_end); compaction not run yet
        #expect(try await client.send("ZCARD", key: keys.compactQueue).int == 1)
        let hash = try await client.send("HGETALL", key: keys.session("e")).array ?? []
        let final = try await client.send("GET", key: keys.finalJourney("e")).bytes
        let compacted = try #require(try Worker.compacted(hash: hash, final: final, earlier: nil))
        // Meanwhile ingest takes a late message (t0, m, l change; the hash keeps its length).
        _ = try await ingestor.ingest([ev("e9", B + 9000, .userMessage, "e")])
        var store = w.compactScript.call(keys: [keys.compactQueue])
        for a in [keys.prefix, "store", "3024000", "1", "e"] { store.append(a) }
        store.append(bytes: Worker.stateDigest(hash))
        store.append(final?.count ?? 0)
        store.append(bytes: compacted.blob)
        store.append(0)  // no ids
        #expect(try await client.evaluate(w.compactScript, store).int == 0)
        #expect(try await client.send("EXISTS", keys.compactJourney("e")).int == 0)
        // Done properly later, with the late event in it.
        try await settle(w)
        #expect(try await inspect.journey("acme", "e") == ["e9", "e1", "e2", "e3"])
        #expect(try await inspect.counters("acme", "c:h:\(H)")["sess_msgs"] == 2)
    }

    @Test func aWorkerRefusesDataOfTheFormatBeforeIssue13() async throws {
        try await client.send("SADD", key: AgentKeys.agents, "acme")
        try await client.send("XADD", key: keys.stream, "*", "j", "{}")
        await #expect(throws: LegacyDataError.self) { try await Worker.checkStorage(client: client) }
        try await client.send("DEL", key: keys.stream)
        try await client.send("HSET", key: keys.prefix + "sess:x", "first", "1")
        await #expect(throws: LegacyDataError.self) { try await Worker.checkStorage(client: client) }
        try await client.send("DEL", key: keys.prefix + "sess:x")
        try await Worker.checkStorage(client: client)
        #expect(try await client.send("GET", key: AgentKeys.schema).string == AgentKeys.schemaVersion)
    }
}
