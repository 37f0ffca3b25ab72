@testable import InsightsModel
import Testing

/// The storage formats of Sources/InsightsModel (docs/keys.md), byte for byte where Lua reads them.
@Suite("Storage formats")
struct StorageFormatTests {
    @Test func storedEventIDs() {
        let uuid = "2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d"
        let field = StoredEventID.field(uuid)
        #expect(field.count == 17 && field[0] == 0x01 && field[1] == 0x2C && field[16] == 0x7D)
        #expect(StoredEventID.id(field) == uuid)
        // An uppercase UUID is another id: it keeps its text form, as does anything else.
        #expect(StoredEventID.field(uuid.uppercased()) == Array("#".utf8) + Array(uuid.uppercased().utf8))
        #expect(StoredEventID.id(StoredEventID.field("evt-1")) == "evt-1")
        #expect(StoredEventID.field("2c5ea4c0406711e98bad9b1deb4d3b7d").first == UInt8(ascii: "#"))
        #expect(StoredEventID.id([]) == nil && StoredEventID.id([0x01, 1, 2]) == nil)
        #expect(StoredEventID.isIDField(field) && !StoredEventID.isIDField(Array("t0".utf8)))
    }

    func record(_ id: String, _ ts: Int64, _ type: EventType, rt: Int? = nil, intent: String? = nil, data: [UInt8] = []) -> JourneyRecord {
        JourneyRecord(timestampMs: ts, type: type, escalated: false, idField: StoredEventID.field(id), intent: intent,
                      responseTimeMs: rt, data: data)
    }

    @Test func journeyRecordLayoutIsWhatTheScriptsRead() throws {
        var data: [String: JSONValue] = ["intent": "billing", "escalated_to_human": true]
        data["n"] = .number(3)
        let e = AnalyticsEvent(eventID: "e-1", eventType: .intentClassified, timestampMs: 1_764_578_400_123, sessionID: "s",
                               agentID: "a", data: data, responseTimeMs: 250)
        let r = JourneyRecord(event: e)
        let bytes = r.encoded()
        let json = Array(#"{"escalated_to_human":true,"intent":"billing","n":3}"#.utf8)
        // u16 n | u48 ts | type | flags | k, id | u16 i, intent | u32 rt | data
        #expect(Array(bytes[0..<2]) == [UInt8((bytes.count - 2) & 0xFF), UInt8((bytes.count - 2) >> 8)])
        #expect(Array(bytes[2..<8]) == [0x7B, 0x97, 0x11, 0xD9, 0x9A, 0x01])  // 1764578400123 little-endian
        #expect(bytes[8] == EventType.intentClassified.code && bytes[8] == 4)
        #expect(bytes[9] == 3)  // escalated, response time
        #expect(bytes[10] == 4 && Array(bytes[11..<15]) == Array("#e-1".utf8))
        #expect(Array(bytes[15..<17]) == [7, 0] && Array(bytes[17..<24]) == Array("billing".utf8))
        #expect(Array(bytes[24..<28]) == [250, 0, 0, 0])
        #expect(Array(bytes[28...]) == json)
        let back = try JourneyRecord.decodeAll(bytes + record("e-2", 5, .custom).encoded())
        #expect(back == [r, record("e-2", 5, .custom)])
        #expect(back[0].eventID == "e-1")
        #expect(throws: JourneyRecord.DecodingError.self) { try JourneyRecord.decodeAll(Array(bytes.dropLast())) }
    }

    @Test func compactJourneyRoundTripsAndKeepsIdsOnce() throws {
        let a = [record("2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d", 1_000, .userMessage, data: Array(#"{"text":"hi"}"#.utf8)),
                 record("b", 3_000, .botResponse, rt: 40)]
        let b = [record("c", 2_000, .intentClassified, intent: "x", data: Array(#"{"intent":"x"}"#.utf8)),
                 record("b", 3_000, .botResponse, rt: 40)]  // a copy of an event already in `a`
        let merged = CompactJourney.merge([a, b])
        #expect(merged.compactMap(\.eventID) == ["2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d", "c", "b"])
        let c = CompactJourney(fields: [(Array("t0".utf8), Array("1000".utf8)), (Array("st".utf8), [0x93, 1, 2, 3])], events: merged)
        let blob = try c.encode()
        #expect(Array(blob[0..<2]) == [0x5A, 0x03])
        let back = try CompactJourney.decode(blob)
        // Intents are not kept per event once compacted (the state has what the outcome needs).
        #expect(back.events.map(\.eventID) == merged.map(\.eventID))
        #expect(back.events.map(\.timestampMs) == [1_000, 2_000, 3_000] && back.events[2].responseTimeMs == 40)
        #expect(back.events.map(\.data) == merged.map(\.data) && back.events.allSatisfy { $0.intent == nil })
        #expect(back.fields.map(\.name) == c.fields.map(\.name) && back.fields[1].value == [0x93, 1, 2, 3])
        #expect(back.events.map(\.idField) == merged.map(\.idField))
        // The header is MessagePack the scripts read: {"h": {...}, "u": UUIDs' 16 bytes, "t": "\n" + text ids each + "\n"},
        // each in the events' order (here the UUID at 1 000, then c at 2 000 and b at 3 000).
        let h = Int(blob[2]) | Int(blob[3]) << 8
        let header = try MessagePack.decode(blob[6..<6 + h])
        #expect(header["u"]?.bytesValue == Array(merged[0].idField.dropFirst()) && header["h"]?["t0"]?.stringValue == "1000")
        #expect(header["t"]?.bytesValue == Array("\nc\nb\n".utf8))
        #expect(throws: CompactJourney.DecodingError.self) { try CompactJourney.decode(blob.dropLast(3)) }
        // A header with an id less, or more, than the events is refused.
        for (u, t) in [(Array(merged[0].idField.dropFirst()), Array("\nc\n".utf8)), (Array(merged[0].idField.dropFirst()), Array("\nc\nb\nd\n".utf8)),
                       ([UInt8](), Array("\nc\nb\n".utf8))] {
            var other = Array(blob[0..<2])
            let hdr = MessagePack.encode(.map([(Array("h".utf8), .map([])), (Array("u".utf8), .bytes(u)), (Array("t".utf8), .bytes(t))]))
            JourneyRecord.appendLE(UInt64(hdr.count), 4, to: &other)
            other += hdr + blob[(6 + h)...]
            #expect(throws: CompactJourney.DecodingError.self) { try CompactJourney.decode(other) }
        }
    }

    /// The body of versions 1 and 2 (per event varint dt, type, flags, [rt], varint n, data): a
    /// user_message at 1 000 with {"text":"hi"}, a bot_response at 3 000 (response time 40).
    func legacyBody(secondFlags: UInt8) -> (data: [UInt8], body: [UInt8]) {
        let data = Array(#"{"text":"hi"}"#.utf8)
        var body: [UInt8] = []
        CompactJourney.appendVarint(1_000, to: &body)
        body += [EventType.userMessage.code, 0]
        CompactJourney.appendVarint(UInt64(data.count), to: &body)
        body += data
        CompactJourney.appendVarint(2_000, to: &body)
        return (data, body + [EventType.botResponse.code, secondFlags, 40, 0])
    }

    /// Values compacted before stop 24 (version 1: the ids as a list of stored forms, no flag 4) still decode.
    @Test func compactJourneyVersion1StillDecodes() throws {
        let uuid = StoredEventID.field("2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d"), text = StoredEventID.field("b")
        let (data, body) = legacyBody(secondFlags: JourneyRecord.responseTimeFlag)
        let header = MessagePack.encode(.map([(Array("h".utf8), .map([(Array("t0".utf8), .bytes(Array("1000".utf8)))])),
                                              (Array("i".utf8), .array([.bytes(uuid), .bytes(text)]))]))
        var blob: [UInt8] = [0x5A, 0x01]
        JourneyRecord.appendLE(UInt64(header.count), 4, to: &blob)
        blob += header + (try Deflate.compress(body, dictionary: CompactJourney.dictionary))
        let back = try CompactJourney.decode(blob)
        #expect(back.events.map(\.idField) == [uuid, text])
        #expect(back.events.map(\.eventID) == ["2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d", "b"])
        #expect(back.events.map(\.timestampMs) == [1_000, 3_000] && back.events.map(\.type) == [.userMessage, .botResponse])
        #expect(back.events[0].data == data && back.events[1].data.isEmpty && back.events[1].responseTimeMs == 40)
        #expect(back.fields.count == 1 && back.fields[0].value == Array("1000".utf8))
    }

    /// Values compacted in stop 24 (version 2: every hash field kept, per event dt, type, flags,
    /// [rt], length and data in one stream) still decode.
    @Test func compactJourneyVersion2StillDecodes() throws {
        let uuid = StoredEventID.field("2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d")
        let (data, body) = legacyBody(secondFlags: JourneyRecord.responseTimeFlag | 4)  // b: a text id
        let header = MessagePack.encode(.map([(Array("h".utf8), .map([(Array("t0".utf8), .bytes(Array("1000".utf8)))])),
                                              (Array("u".utf8), .bytes(Array(uuid.dropFirst()))), (Array("t".utf8), .bytes(Array("\nb\n".utf8)))]))
        var blob: [UInt8] = [0x5A, 0x02]
        JourneyRecord.appendLE(UInt64(header.count), 4, to: &blob)
        blob += header + (try Deflate.compress(body, dictionary: CompactJourney.dictionary))
        let back = try CompactJourney.decode(blob)
        #expect(back.events.map(\.eventID) == ["2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d", "b"])
        #expect(back.events.map(\.timestampMs) == [1_000, 3_000] && back.events.map(\.type) == [.userMessage, .botResponse])
        #expect(back.events[0].data == data && back.events[1].data.isEmpty && back.events[1].responseTimeMs == 40)
        #expect(back.fields.count == 1 && back.fields[0].value == Array("1000".utf8))
    }

    /// Version 3: the data in a column (each followed by "\n"), then the numbers; `t0`, `l` and `dm`
    /// left out of the header when the state has them, and put back on decoding.
    @Test func compactJourneyVersion3LeavesOutWhatTheStateHas() throws {
        let events = [record("a", 1_796_000_000_000, .userMessage, data: Array(#"{"text":"hi"}"#.utf8)),
                      record("b", 1_796_000_000_250, .botResponse, rt: 240)]
        // A state of version 4 (lua/worker_lib.lua pack_state): first, last − first, turns, li, lit,
        // esc, ended, wfs, wfc, wff, err, intents, dm, 4.
        let st = MessagePack.encode(.array([.int(1_796_000_000_000), .int(250), .int(1), .bool(true), .bool(true), .int(0), .int(0),
                                            .int(0), .int(0), .int(0), .int(0), .array([]), .bytes(Array("web\u{1F}\u{1F}".utf8)), .int(4)]))
        func f(_ n: String, _ v: [UInt8]) -> (name: [UInt8], value: [UInt8]) { (Array(n.utf8), v) }
        let own = [f("t0", Array("1796000000000".utf8)), f("m", Array("2".utf8)), f("l", Array("1796000000250".utf8)),
                   f("dm", Array("web\u{1F}\u{1F}".utf8)), f("st", st)]
        let c = CompactJourney(fields: own, events: events)
        let blob = try c.encode()
        let h = Int(blob[2]) | Int(blob[3]) << 8
        let header = try MessagePack.decode(blob[6..<6 + h])
        #expect(header["h"]?.mapValue?.map { String(decoding: $0.key, as: UTF8.self) } == ["m", "st"] && header["n"] == nil)
        let body = try Deflate.decompress(blob[(6 + h)...], dictionary: CompactJourney.dictionary)
        var numbers: [UInt8] = []
        CompactJourney.appendVarint(1_796_000_000_000, to: &numbers)
        numbers.append(EventType.userMessage.code | 4 << 4)  // text id "a"
        numbers += [250, 1, EventType.botResponse.code | (4 | JourneyRecord.responseTimeFlag) << 4, 240, 1]  // dt 250, rt 240 as varints
        #expect(body == Array(#"{"text":"hi"}"#.utf8) + [0x0A, 0x0A] + numbers)
        let back = try CompactJourney.decode(blob)
        #expect(back == c && back.events.map(\.eventID) == ["a", "b"])
        // A field that differs from the state is kept as it is.
        let moved = CompactJourney(fields: [f("t0", Array("1795999999000".utf8))] + own.dropFirst(), events: events)
        let kept = try CompactJourney.decode(try moved.encode())
        #expect(kept == moved && kept.fields.first { $0.name == Array("t0".utf8) }?.value == Array("1795999999000".utf8))
        // Data with a newline (never from the edge's JSON writer) is stored length-prefixed ("n").
        let odd = CompactJourney(fields: own, events: [record("a", 1_796_000_000_000, .custom, data: Array("x\ny".utf8))])
        let oddBlob = try odd.encode()
        let oh = Int(oddBlob[2]) | Int(oddBlob[3]) << 8
        #expect(try MessagePack.decode(oddBlob[6..<6 + oh])["n"] == .int(1) && (try CompactJourney.decode(oddBlob)) == odd)
        // The type code shares its byte with the flags.
        #expect(EventType.allCases.allSatisfy { $0.code < 16 })
    }

    @Test func messagePackRoundTripsWhatCmsgpackWrites() throws {
        let v = MessagePack.Value.map([
            (Array("events".utf8), .int(5)), (Array("neg".utf8), .int(-2)), (Array("big".utf8), .int(1_234_567_890_123_456)),
            (Array("list".utf8), .array([.bytes([1, 2]), .null, .bool(true)])),
        ])
        #expect(try MessagePack.decode(MessagePack.encode(v)) == v)
        // What Redis' cmsgpack writes for {events=5, big=...}: a fixmap, positive fixint, uint64.
        let cms: [UInt8] = [0x82, 0xA6] + Array("events".utf8) + [0x05, 0xA3] + Array("big".utf8) + [0xCF, 0, 4, 0x62, 0xD5, 0x3C, 0x8A, 0xBA, 0xC0]
        let d = try MessagePack.decode(cms)
        #expect(d["events"]?.intValue == 5 && d["big"]?.intValue == 1_234_567_890_123_456)
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode([0x82, 0xA1]) }
    }

    @Test func deflateRoundTripsWithADictionaryAndRefusesCorruption() throws {
        let text = Array(String(repeating: #"{"intent":"billing","text":"where is my order"}"#, count: 20).utf8)
        let dict = Array(#""intent":"text":"#.utf8)
        let z = try Deflate.compress(text, dictionary: dict)
        #expect(z.count < text.count / 5)
        #expect(try Deflate.decompress(z, dictionary: dict) == text)
        #expect(throws: Deflate.Failure.self) { try Deflate.decompress(z, dictionary: []) }
        #expect(throws: Deflate.Failure.self) { try Deflate.decompress(z.dropLast(4), dictionary: dict) }
        #expect(throws: Deflate.Failure.self) { try Deflate.decompress(z, dictionary: dict, limit: 100) }
    }

    @Test func eventCountersAreTheDocumentedOnes() {
        #expect([1, 2, 16, 17, 1000].map(EventCounters.responseTimeBin) == [0, 4, 16, 16, 39])
        let e = AnalyticsEvent(eventID: "x", eventType: .intentClassified, sessionID: "s", data: ["intent": "fallback"],
                               channel: "web", confidence: 0.65)
        let all = Dictionary(uniqueKeysWithValues: EventCounters.contribution(of: e).map { ($0.field, $0.delta) })
        // The bucket's own counters, then those of counter families (`<letter>/`, docs/keys.md).
        let c = all.filter { !$0.key.contains("/") }, family = all.filter { $0.key.contains("/") }
        #expect(c == ["events": 1, "ev:intent_classified": 1, "intents": 1, "intent:fallback": 1, "conf_sum_u": 650_000,
                      "conf_count": 1, "low_conf": 1, "ch:web": 1])
        #expect(family == ["n/s:fallback": 650_000, "n/k:fallback": 1, "n/b13:fallback": 1])
        let zero = AnalyticsEvent(eventID: "y", eventType: .intentClassified, sessionID: "s", confidence: 0)
        #expect(EventCounters.contribution(of: zero).map(\.field) == ["events", "ev:intent_classified", "low_conf"])
        #expect(EventCounters.minute(119_999) == 60 && EventCounters.minute(-1) == -60)
    }

    @Test func familyCountersOfSystemEventsAndIntents() {
        // Confidence bins: k/20 ≤ c < (k+1)/20 with the doubles a threshold parses to.
        #expect([0, 0.049, 0.05, 0.6, 0.65, 0.7, 0.7499, 0.95, 1].map(EventCounters.confidenceBin) == [0, 0, 1, 12, 13, 14, 14, 19, 20])
        for m in 1...20 {
            let t = Double(m) / 20
            for c in [t, t.nextDown, t.nextUp] where c >= 0 && c <= 1 {
                #expect((EventCounters.confidenceBin(c) < m) == (c < t), "c \(c) threshold \(t)")
            }
        }
        func fields(_ type: EventType, _ data: [String: JSONValue], duration: Int? = nil) -> [String: Int] {
            let e = AnalyticsEvent(eventID: "x", eventType: type, sessionID: "s", data: data, durationMs: duration)
            return Dictionary(uniqueKeysWithValues: EventCounters.contribution(of: e).filter { $0.field.contains("/") }.map { ($0.field, $0.delta) })
        }
        let u = "\u{1F}"
        #expect(fields(.apiCall, ["endpoint": "/pay", "status_code": 502], duration: 8) == [
            "x/calls": 1, "x/c\(u)ep\(u)/pay": 1, "x/fail": 1, "x/f\(u)ep\(u)/pay": 1, "x/l12": 1, "x/h12\(u)ep\(u)/pay": 1])
        #expect(fields(.apiCall, ["endpoint": .number(7), "success": true], duration: 0) == [
            "x/calls": 1, "x/c\(u)ep\(u)7": 1, "x/l-1": 1, "x/h-1\(u)ep\(u)7": 1])
        #expect(fields(.apiCall, ["endpoint": .string(String(repeating: "e", count: 65)), "success": false]) == [
            "x/calls": 1, "x/c\(u)ep\(u)unknown": 1, "x/fail": 1, "x/f\(u)ep\(u)unknown": 1])
        #expect(fields(.error, ["code": .number(503.5)]) == ["x/errors": 1, "x/e\(u)ec\(u)unknown": 1])
        #expect(fields(.error, ["code": "E\u{7}"]) == ["x/errors": 1, "x/e\(u)ec\(u)unknown": 1])
        #expect(fields(.entityExtracted, ["entities": [["type": "date"], ["type": "date"], ["type": 3], ["name": "x"]], "entity": "city"]) == [
            "n/e\(u)et\(u)date": 2, "n/e\(u)et\(u)city": 1])
        #expect(fields(.intentClassified, ["intent": "a"]).isEmpty)  // no confidence: counted only as the intent
    }
}
