/// A compacted session (`P jz:<sid>`, docs/keys.md): once a session is finalized, the workers replace
/// its state hash and journey records by this one value. Its header is MessagePack the Lua scripts can
/// read back (a late event "reopens" the session from it), the events are deflated once.
///
///     'Z' 0x02   magic and version
///     u32 LE H   header length
///     H bytes    MessagePack map {"h": {field: value} (the session hash's own fields),
///                                 "u": the 16 bytes of each UUID event id, back to back,
///                                 "t": "\n" then each other event id followed by "\n"}
///                (the forms of the session hash's `iu` and `it`: a reopened session takes them as
///                they are), each list in the events' order below
///     rest       raw deflate, with ``dictionary`` preset, of the events sorted by time:
///                per event varint (ts − previous ts; the first: ts), u8 type, u8 flags (flag 4:
///                its id is the next of "t", else the next of "u"), [varint response_time_ms if
///                flag 2], varint n, n bytes of data JSON
///
/// Version 1 (before stop 24, still read) had `"i": [id field...]` (each stored id as a bin: 3 bytes
/// more per UUID) and no flag 4.
///
/// Event ids are kept once, in the header (a late copy of an applied event is recognized by them);
/// intents and escalation are not kept per event (the finalized state in "h" has what the outcome needs).
public struct CompactJourney: Sendable, Equatable {
    /// The session hash's fields other than event ids (`t0`, `m`, `l`, `fin`, the outcome snapshot...).
    public var fields: [(name: [UInt8], value: [UInt8])]
    /// The events, sorted by time, each once.
    public var events: [JourneyRecord]

    public init(fields: [(name: [UInt8], value: [UInt8])], events: [JourneyRecord]) {
        self.fields = fields
        self.events = events
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.events == b.events && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    static let magic: [UInt8] = [0x5A, 0x02]
    /// In the body's flags (not a ``JourneyRecord`` flag): the event's id is a text id, the next of "t".
    static let textIDFlag: UInt8 = 4
    static let newline: UInt8 = 0x0A

    /// Version 1's preset dictionary: the data members the event model documents and JSON punctuation,
    /// so that deflate does not spend the first occurrence of each on literals. Never changes within a
    /// version (a compacted journey could not be read back).
    public static let dictionary: [UInt8] = Array(
        (#"{"comment":"","confidence":0.,"reason":"","success":true,"error":"","status":500,"duration_ms":"#
            + #""method":"POST","GET","endpoint":"/","status_code":200,"code":"","message":"","thumbs":"up","#
            + #""down","rating":5,"workflow":"","escalated_to_human":true,"false,"null,"entity":"","#
            + #""entities":[{"type":"","value":""}],"intent":"","text":"""#).utf8)

    public func encode() throws(Deflate.Failure) -> [UInt8] {
        var body: [UInt8] = []
        var uuids: [UInt8] = [], texts: [UInt8] = [Self.newline]
        var previous: Int64 = 0
        for e in events {
            Self.appendVarint(UInt64(max(0, e.timestampMs - previous)), to: &body)
            previous = e.timestampMs
            body.append(e.type.code)
            // A stored id is 0x01 and 16 bytes, or `#` and the id (StoredEventID; no newline in an id).
            if e.idField.count == 17 && e.idField.first == StoredEventID.uuidMarker {
                uuids += e.idField.dropFirst()
                body.append(e.flags)
            } else {
                texts += e.idField.dropFirst()
                texts.append(Self.newline)
                body.append(e.flags | Self.textIDFlag)
            }
            if let rt = e.responseTimeMs { Self.appendVarint(UInt64(max(0, rt)), to: &body) }
            Self.appendVarint(UInt64(e.data.count), to: &body)
            body.append(contentsOf: e.data)
        }
        let header = MessagePack.encode(.map([
            (Array("h".utf8), .map(fields.map { ($0.name, .bytes($0.value)) })),
            (Array("u".utf8), .bytes(uuids)),
            (Array("t".utf8), .bytes(texts)),
        ]))
        var out = Self.magic
        JourneyRecord.appendLE(UInt64(header.count), 4, to: &out)
        out += header
        out += try Deflate.compress(body, dictionary: Self.dictionary)
        return out
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { "compacted journey: \(message)" }
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) -> CompactJourney {
        let b = Array(bytes)
        guard b.count >= 6, b[0] == magic[0], b[1] == 1 || b[1] == 2 else { throw DecodingError(message: "not a compacted journey") }
        let version = b[1]
        var h = 0
        for i in stride(from: 5, through: 2, by: -1) { h = h << 8 | Int(b[i]) }
        guard 6 + h <= b.count else { throw DecodingError(message: "truncated header") }
        let header: MessagePack.Value
        do { header = try MessagePack.decode(b[6..<6 + h]) } catch { throw DecodingError(message: error.description) }
        let fields: [(name: [UInt8], value: [UInt8])] = (header["h"]?.mapValue ?? []).map { ($0.key, $0.value.bytesValue ?? []) }
        // Version 1: the ids in a list; version 2: UUIDs and text ids apart, taken in order by flag 4.
        let listed = version == 1 ? (header["i"]?.arrayValue ?? []).map { $0.bytesValue ?? [] } : nil
        let uuids = header["u"]?.bytesValue ?? []
        let texts = (header["t"]?.bytesValue ?? []).split(separator: newline).map { [StoredEventID.textMarker] + $0 }
        var nextUUID = 0, nextText = 0
        let body: [UInt8]
        do { body = try Deflate.decompress(b[(6 + h)...], dictionary: dictionary) } catch { throw DecodingError(message: error.description) }
        var events: [JourneyRecord] = []
        events.reserveCapacity(listed?.count ?? uuids.count / 16 + texts.count)
        var pos = 0
        var ts: Int64 = 0
        func varint() throws(DecodingError) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard pos < body.count, shift < 64 else { throw DecodingError(message: "truncated events") }
                let byte = body[pos]
                pos += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while listed.map({ events.count < $0.count }) ?? (pos < body.count) {
            ts += Int64(try varint())
            guard pos + 2 <= body.count, let type = EventType(code: body[pos]) else { throw DecodingError(message: "bad event") }
            let flags = body[pos + 1]
            pos += 2
            let id: [UInt8]
            if let listed {
                id = listed[events.count]
            } else if flags & textIDFlag != 0 {
                guard nextText < texts.count else { throw DecodingError(message: "more text ids than the header has") }
                id = texts[nextText]
                nextText += 1
            } else {
                guard nextUUID + 16 <= uuids.count else { throw DecodingError(message: "more UUIDs than the header has") }
                id = [StoredEventID.uuidMarker] + uuids[nextUUID..<nextUUID + 16]
                nextUUID += 16
            }
            let rt: Int? = flags & JourneyRecord.responseTimeFlag != 0 ? Int(try varint()) : nil
            let n = Int(try varint())
            guard pos + n <= body.count else { throw DecodingError(message: "truncated data") }
            events.append(JourneyRecord(timestampMs: ts, type: type, escalated: flags & JourneyRecord.escalatedFlag != 0,
                                        idField: id, intent: nil, responseTimeMs: rt, data: Array(body[pos..<pos + n])))
            pos += n
        }
        guard pos == body.count else { throw DecodingError(message: "\(body.count - pos) bytes after the last event") }
        guard listed != nil || (nextUUID == uuids.count && nextText == texts.count) else {
            throw DecodingError(message: "the header has more ids than the events")
        }
        return CompactJourney(fields: fields, events: events)
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Merges journey pieces (a compacted journey's events, then finalized and raw records in the
    /// order they were appended): each event id once (the first copy wins: copies are identical),
    /// sorted by time, ties kept in that order.
    public static func merge(_ pieces: [[JourneyRecord]]) -> [JourneyRecord] {
        var seen = Set<[UInt8]>()
        var out: [JourneyRecord] = []
        for piece in pieces {
            for r in piece where seen.insert(r.idField).inserted { out.append(r) }
        }
        // A stable sort by time: the index breaks ties.
        return out.enumerated().sorted { a, b in
            a.element.timestampMs != b.element.timestampMs ? a.element.timestampMs < b.element.timestampMs : a.offset < b.offset
        }.map(\.element)
    }
}
