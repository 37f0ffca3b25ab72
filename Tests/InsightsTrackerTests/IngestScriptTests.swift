import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// The ingest script's effects, checked field by field against hand-computed values.
@Suite("lua/ingest.lua through EventIngestor")
struct IngestScriptTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    // Times: H = start of the previous hour (s), B = H + 10 min (ms), A = B in s, D = day of H.
    let H: Int64
    let B: Int64
    let A: Int64
    let D: Int64

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 2)
        ingestor = try EventIngestor(client: client, retention: Retention(minute: 172_800, hour: 3_024_000, day: 34_560_000, session: 3_024_000))
        let now = Int64(Date().timeIntervalSince1970)
        H = (now / 3600 - 1) * 3600
        B = (H + 600) * 1000
        A = B / 1000
        D = H / 86400 * 86400
    }

    func ev(_ id: String, _ ts: Int64, _ type: EventType, _ session: String, rt: Int? = nil, conf: Double? = nil,
            intent: String? = nil, channel: String? = nil, escalated: Bool = false) -> AnalyticsEvent {
        var data: [String: JSONValue] = [:]
        if let intent { data["intent"] = .string(intent) }
        if escalated { data["escalated_to_human"] = .bool(true) }
        return AnalyticsEvent(eventID: id, eventType: type, timestampMs: ts, sessionID: session, agentID: "acme",
                              data: data, channel: channel, responseTimeMs: rt, confidence: conf)
    }

    var batch1: [AnalyticsEvent] {
        [
            ev("e1", B + 5000, .conversationStart, "s1", channel: "web"),
            ev("e2", B + 10000, .userMessage, "s1", channel: "web"),
            ev("e3", B + 12000, .intentClassified, "s1", conf: 0.65, intent: "fallback"),
            ev("e4", B + 15000, .botResponse, "s1", rt: 16, channel: "web"),
            ev("e2", B + 10000, .userMessage, "s1", channel: "web"),  // duplicate inside the batch
            ev("e5", B + 70000, .userMessage, "s2", channel: "web"),
            ev("e6", B + 75000, .intentClassified, "s2", conf: 0.9, intent: "book_flight"),
            ev("e7", B + 80000, .botResponse, "s2", rt: 250, escalated: true),
            ev("e8", B + 30000, .conversationStart, "s2"),  // late: moves s2 from minute A+60 to A
            ev("e9", B + 90000, .botResponse, "s2", rt: 0),  // rt 0 is not a response time
            ev("e10", B - 259_200_000 + 20000, .userMessage, "s3", channel: "voice"),  // 3 days old: no minute bucket
            ev("e11", B + 95000, .intentClassified, "s1", conf: 0),  // counts only toward low_conf
        ]
    }

    /// A bucket's counters.
    func hash(_ key: String) async throws -> [String: Int] {
        try await StorageInspector(client: client).counters("acme", key)
    }

    /// A session's first event time and message count (ingest's part of its hash).
    func sessionStart(_ sid: String) async throws -> [String: Int] {
        try await StorageInspector(client: client).session("acme", sid).filter { ["t0", "m"].contains($0.key) }.mapValues { Int($0)! }
    }

    @Test func bucketsMatchHandComputedValues() async throws {
        #expect(try await ingestor.ingest(batch1) == IngestResult(accepted: 11, duplicates: 1))
        #expect(try await ingestor.ingest(batch1) == IngestResult(accepted: 0, duplicates: 12))
        let late = ev("e12", B - 59000, .userMessage, "s1", channel: "web")  // moves s1 from minute A to A-60
        #expect(try await ingestor.ingest([late]) == IngestResult(accepted: 1, duplicates: 0))
        #expect(try await ingestor.ingest([late]) == IngestResult(accepted: 0, duplicates: 1))

        #expect(try await hash("c:m:\(A / 60 * 60 - 60)") == [
            "events": 1, "ev:user_message": 1, "messages": 1, "ch:web": 1, "conversations": 1, "conv_msg": 1, "sess_msgs": 3,
        ])
        #expect(try await hash("c:m:\(A / 60 * 60)") == [
            "events": 5, "ev:conversation_start": 2, "ev:user_message": 1, "ev:intent_classified": 1, "ev:bot_response": 1,
            "messages": 2, "ch:web": 3, "intents": 1, "intent:fallback": 1, "conf_sum_u": 650_000, "conf_count": 1,
            "low_conf": 1, "rt_sum": 16, "rt_count": 1, "rt:16": 1, "conversations": 1, "conv_msg": 1, "sess_msgs": 3,
        ])
        #expect(try await hash("c:m:\(A / 60 * 60 + 60)") == [
            "events": 5, "ev:user_message": 1, "ev:intent_classified": 2, "ev:bot_response": 2, "messages": 3, "ch:web": 1,
            "intents": 1, "intent:book_flight": 1, "conf_sum_u": 900_000, "conf_count": 1, "low_conf": 1, "rt_sum": 250,
            "rt_count": 1, "rt:31": 1, "escalations": 1, "conversations": 0, "conv_msg": 0, "sess_msgs": 0,
        ])
        let recent: [String: Int] = [
            "events": 11, "ev:conversation_start": 2, "ev:user_message": 3, "ev:intent_classified": 3, "ev:bot_response": 3,
            "messages": 6, "ch:web": 5, "intents": 2, "intent:fallback": 1, "intent:book_flight": 1, "conf_sum_u": 1_550_000,
            "conf_count": 2, "low_conf": 2, "rt_sum": 266, "rt_count": 2, "rt:16": 1, "rt:31": 1, "escalations": 1,
            "conversations": 2, "conv_msg": 2, "sess_msgs": 6,
        ]
        #expect(try await hash("c:h:\(H)") == recent)
        #expect(try await hash("c:d:\(D)") == recent)
        let old: [String: Int] = ["events": 1, "ev:user_message": 1, "messages": 1, "ch:voice": 1, "conversations": 1, "conv_msg": 1, "sess_msgs": 1]
        #expect(try await hash("c:h:\(H - 259_200)") == old)
        #expect(try await hash("c:d:\(D - 259_200)") == old)
        #expect(try await sessionStart("s1") == ["t0": Int(B - 59000), "m": 3])
        #expect(try await sessionStart("s2") == ["t0": Int(B + 30000), "m": 3])
        #expect(try await sessionStart("s3") == ["t0": Int(B - 259_180_000), "m": 1])
        #expect(try await client.send("XLEN", key: "ins:{acme}:stream").int == 12)
        #expect(try await client.send("SMEMBERS", key: "ins:agents").array?.compactMap(\.string) == ["acme"])
        // Expiry is tied to the bucket's own time, not to the moment of writing.
        #expect(try await client.send("EXPIRETIME", key: "ins:{acme}:c:h:\(H)").int == Int(H + 3600 + 3_024_000))
        #expect(try await client.send("EXPIRETIME", key: "ins:{acme}:c:d:\(D)").int == Int(D + 86400 + 34_560_000))
        #expect(try await client.send("EXPIRETIME", key: "ins:{acme}:c:m:\(A / 60 * 60)").int == Int(A / 60 * 60 + 60 + 172_800))
        // The stream entry carries the session and the event's journey record, made once at the edge.
        let entries = try await client.send("XRANGE", key: "ins:{acme}:stream", "-", "+", "COUNT", "1").array ?? []
        let fields = entries.first?.array?[1].array ?? []
        #expect(fields.map(\.string) == ["s", "s1", "r", fields[3].string])
        let record = try JourneyRecord.decodeAll(fields[3].bytes ?? [])
        #expect(record == [JourneyRecord(event: batch1[0])])
        #expect(record.first?.eventID == "e1")
        // The de-dup set of today's arrivals holds every accepted id.
        let today = Int(Date().timeIntervalSince1970) / 86400
        #expect(try await StorageInspector(client: client).dedupIDs("acme", day: today) == Set((1...12).map { "e\($0)" }))
    }

    /// Ids that arrived yesterday (server day) are duplicates today too; yesterday's set is read only
    /// while it exists.
    @Test func yesterdaysArrivalsAreDuplicates() async throws {
        let today = Int(Date().timeIntervalSince1970) / 86400
        let yesterday = "ins:{acme}:d:\(today - 1)"
        var add = RedisCommand("SADD", key: yesterday)
        add.append(bytes: StoredEventID.field("y1"))
        try await client.send(add)
        #expect(try await ingestor.ingest([ev("y1", B, .userMessage, "s9"), ev("y2", B, .userMessage, "s9")])
            == IngestResult(accepted: 1, duplicates: 1))
        #expect(try await StorageInspector(client: client).dedupIDs("acme", day: today) == ["y2"])
        // Without yesterday's set only today's counts: y1 is new once its set is gone.
        try await client.send("DEL", key: yesterday)
        #expect(try await ingestor.ingest([ev("y1", B, .userMessage, "s9"), ev("y2", B, .userMessage, "s9")])
            == IngestResult(accepted: 1, duplicates: 1))
        #expect(try await hash("c:d:\(D)")["events"] == 2)  // y2, then y1
    }

    @Test func aRefusedBatchLeavesNoTrace() async throws {
        #expect(try await client.send("DBSIZE").int == 0)
        // Bypass Swift validation: the third event's time is not a number (arguments: the header of
        // lua/ingest.lua; the events' 6 arguments each start at index 11 of the command).
        var arguments = ingestor.command(agent: "acme", events: batch1.prefix(5)).arguments
        arguments[11 + 2 * 6 + 2] = Array("soon".utf8)
        var call = RedisCommand("EVALSHA")
        for a in arguments.dropFirst() { call.append(bytes: a) }
        await #expect(throws: RedisCommandError.self) { try await client.evaluate(ingestor.script, call) }
        #expect(try await client.send("DBSIZE").int == 0)
    }

    @Test func histogramBinsAtPowersOfTwo() async throws {
        let events = [1, 2, 16, 17, 1000].enumerated().map { i, rt in ev("h\(i)", B, .botResponse, "hs", rt: rt) }
        _ = try await ingestor.ingest(events)
        let h = try await hash("c:h:\(H)")
        // bin = floor(4 * log2(rt)): 1 → 0, 2 → 4, 16 → 16, 17 → 16, 1000 → 39.
        #expect(h["rt:0"] == 1 && h["rt:4"] == 1 && h["rt:16"] == 2 && h["rt:39"] == 1)
        #expect(h["rt_sum"] == 1036 && h["rt_count"] == 5)
    }
}
