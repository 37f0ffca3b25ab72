/// A compacted session (`P jz:<sid>`, docs/keys.md): once a session is finalized, the workers replace
/// its state hash and journey records by this one value. Its header is MessagePack the Lua scripts can
/// read back (a late event "reopens" the session from it), the events are deflated once.
///
///     'Z' 0x03   magic and version
///     u32 LE H   header length
///     H bytes    MessagePack map {"h": {field: value} (the session hash's own fields, but `t0`, `l`
///                                       and `dm` left out when they are the first and last times and
///                                       breakdown values of its state `st`: ``FinalizedState``),
///                                 "u": the 16 bytes of each UUID event id, back to back,
///                                 "t": "\n" then each other event id followed by "\n",
///                                 "n": 1 if the data below is length-prefixed (some data holds a
///                                      newline: never for data the edge wrote), else absent}
///                (the forms of the session hash's `iu` and `it`: a reopened session takes them as
///                they are), each list in the events' order below
///     rest       raw deflate, with ``dictionary`` preset, of the events sorted by time, in columns
///                (deflate finds more of the JSON's repeats with the numbers out of the way):
///                each event's data JSON followed by "\n" (with "n": varint n, n bytes), then per
///                event varint (ts − previous ts; the first: ts), u8 type code | flags << 4 (flag 4:
///                its id is the next of "t", else the next of "u"; type codes are below 16),
///                [varint response_time_ms if flag 2]. The number of events is the number of ids.
///
/// Versions still read: 2 (stop 24) had every field of "h" and, per event in one stream, varint
/// dt, u8 type, u8 flags, [varint rt], varint n, data; 1 (before) as 2 but `"i": [id field...]`
/// (each stored id as a bin) and no flag 4.
///
/// Event ids are kept once, in the header (a late copy of an applied event is recognized by them);
/// intents and escalation are not kept per event (the finalized state in "h" has what the outcome needs).
public struct CompactJourney: Sendable, Equatable {
    /// The session hash's fields other than event ids (`t0`, `m`, `l`, `st`, `dm`...).
    public var fields: [(name: [UInt8], value: [UInt8])]
    /// The events, sorted by time, each once.
    public var events: [JourneyRecord]

    public init(fields: [(name: [UInt8], value: [UInt8])], events: [JourneyRecord]) {
        self.fields = fields
        self.events = events
    }

    /// The same events and the same fields (in any order: a hash has none).
    public static func == (a: Self, b: Self) -> Bool {
        func sorted(_ f: [(name: [UInt8], value: [UInt8])]) -> [[UInt8]] {
            f.map { $0.name + [0] + $0.value }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        return a.events == b.events && sorted(a.fields) == sorted(b.fields)
    }

    static let magic: [UInt8] = [0x5A, 0x03]
    /// In the body's flags (not a ``JourneyRecord`` flag): the event's id is a text id, the next of "t".
    static let textIDFlag: UInt8 = 4
    static let newline: UInt8 = 0x0A
    static let derivable: (t0: [UInt8], l: [UInt8], dm: [UInt8], st: [UInt8]) =
        (Array("t0".utf8), Array("l".utf8), Array("dm".utf8), Array("st".utf8))

    /// Version 1's preset dictionary: the data members the event model documents and JSON punctuation,
    /// so that deflate does not spend the first occurrence of each on literals. Never changes within a
    /// version (a compacted journey could not be read back).
    public static let dictionary: [UInt8] = Array(
        (#"{"comment":"","confidence":0.,"reason":"","success":true,"error":"","status":500,"duration_ms":"#
            + #""method":"POST","GET","endpoint":"/","status_code":200,"code":"","message":"","thumbs":"up","#
            + #""down","rating":5,"workflow":"","escalated_to_human":true,"false,"null,"entity":"","#
            + #""entities":[{"type":"","value":""}],"intent":"","text":"""#).utf8)

    /// The values `t0`, `l` and `dm` take when they are derivable from the state (`st`).
    static func derived(from fields: [(name: [UInt8], value: [UInt8])]) -> [(name: [UInt8], value: [UInt8])] {
        guard let st = fields.first(where: { $0.name == derivable.st }), let state = try? FinalizedState.decode(st.value) else { return [] }
        var out = [(derivable.t0, Array(String(state.first).utf8)), (derivable.l, Array(String(state.last).utf8))]
        if let dm = state.dimensions, !dm.isEmpty { out.append((derivable.dm, dm)) }
        return out
    }

    public func encode() throws(Deflate.Failure) -> [UInt8] {
        var data: [UInt8] = [], numbers: [UInt8] = []
        var uuids: [UInt8] = [], texts: [UInt8] = [Self.newline]
        let prefixed = events.contains { $0.data.contains(Self.newline) }
        var previous: Int64 = 0
        for e in events {
            if prefixed { Self.appendVarint(UInt64(e.data.count), to: &data) }
            data += e.data
            if !prefixed { data.append(Self.newline) }
            Self.appendVarint(UInt64(max(0, e.timestampMs - previous)), to: &numbers)
            previous = e.timestampMs
            // A stored id is 0x01 and 16 bytes, or `#` and the id (StoredEventID; no newline in an id).
            var flags = e.flags
            if e.idField.count == 17 && e.idField.first == StoredEventID.uuidMarker {
                uuids += e.idField.dropFirst()
            } else {
                texts += e.idField.dropFirst()
                texts.append(Self.newline)
                flags |= Self.textIDFlag
            }
            numbers.append(e.type.code | flags << 4)
            if let rt = e.responseTimeMs { Self.appendVarint(UInt64(max(0, rt)), to: &numbers) }
        }
        let derived = Self.derived(from: fields)
        let kept = fields.filter { f in !derived.contains { $0.name == f.name && $0.value == f.value } }
        var header: [(key: [UInt8], value: MessagePack.Value)] = [
            (Array("h".utf8), .map(kept.map { ($0.name, .bytes($0.value)) })),
            (Array("u".utf8), .bytes(uuids)),
            (Array("t".utf8), .bytes(texts)),
        ]
        if prefixed { header.append((Array("n".utf8), .int(1))) }
        let packed = MessagePack.encode(.map(header))
        var out = Self.magic
        JourneyRecord.appendLE(UInt64(packed.count), 4, to: &out)
        out += packed
        out += try Deflate.compress(data + numbers, dictionary: Self.dictionary)
        return out
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { "compacted journey: \(message)" }
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) -> CompactJourney {
        let b = Array(bytes)
        guard b.count >= 6, b[0] == magic[0], (1...3).contains(b[1]) else { throw DecodingError(message: "not a compacted journey") }
        let version = b[1]
        var h = 0
        for i in stride(from: 5, through: 2, by: -1) { h = h << 8 | Int(b[i]) }
        guard 6 + h <= b.count else { throw DecodingError(message: "truncated header") }
        let header: MessagePack.Value
        do { header = try MessagePack.decode(b[6..<6 + h]) } catch { throw DecodingError(message: error.description) }
        var fields: [(name: [UInt8], value: [UInt8])] = (header["h"]?.mapValue ?? []).map { ($0.key, $0.value.bytesValue ?? []) }
        if version >= 3 {
            for d in derived(from: fields) where !fields.contains(where: { $0.name == d.name }) { fields.append(d) }
        }
        // Version 1: the ids in a list; versions 2 and 3: UUIDs and text ids apart, taken in order by flag 4.
        let listed = version == 1 ? (header["i"]?.arrayValue ?? []).map { $0.bytesValue ?? [] } : nil
        let uuids = header["u"]?.bytesValue ?? []
        let texts = (header["t"]?.bytesValue ?? []).split(separator: newline).map { [StoredEventID.textMarker] + $0 }
        var nextUUID = 0, nextText = 0
        let body: [UInt8]
        do { body = try Deflate.decompress(b[(6 + h)...], dictionary: dictionary) } catch { throw DecodingError(message: error.description) }
        let count = listed?.count ?? uuids.count / 16 + texts.count
        var events: [JourneyRecord] = []
        events.reserveCapacity(count)
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
        func nextID(_ flags: UInt8) throws(DecodingError) -> [UInt8] {
            if let listed { return listed[events.count] }
            if flags & textIDFlag != 0 {
                guard nextText < texts.count else { throw DecodingError(message: "more text ids than the header has") }
                nextText += 1
                return texts[nextText - 1]
            }
            guard nextUUID + 16 <= uuids.count else { throw DecodingError(message: "more UUIDs than the header has") }
            nextUUID += 16
            return [StoredEventID.uuidMarker] + uuids[nextUUID - 16..<nextUUID]
        }
        func record(_ type: UInt8, _ flags: UInt8, _ data: [UInt8]) throws(DecodingError) -> JourneyRecord {
            guard let type = EventType(code: type) else { throw DecodingError(message: "bad event type \(type)") }
            let id = try nextID(flags)
            let rt: Int? = flags & JourneyRecord.responseTimeFlag != 0 ? Int(try varint()) : nil
            return JourneyRecord(timestampMs: ts, type: type, escalated: flags & JourneyRecord.escalatedFlag != 0,
                                 idField: id, intent: nil, responseTimeMs: rt, data: data)
        }
        if version >= 3 {
            var data: [[UInt8]] = []
            data.reserveCapacity(count)
            let prefixed = header["n"] != nil
            while data.count < count {
                if prefixed {
                    let n = Int(try varint())
                    guard pos + n <= body.count else { throw DecodingError(message: "truncated data") }
                    data.append(Array(body[pos..<pos + n]))
                    pos += n
                } else {
                    guard let end = body[pos...].firstIndex(of: newline) else { throw DecodingError(message: "truncated data") }
                    data.append(Array(body[pos..<end]))
                    pos = end + 1
                }
            }
            for d in data {
                ts += Int64(try varint())
                guard pos < body.count else { throw DecodingError(message: "truncated events") }
                let byte = body[pos]
                pos += 1
                events.append(try record(byte & 0x0F, byte >> 4, d))
            }
        } else {
            while listed.map({ events.count < $0.count }) ?? (pos < body.count) {
                ts += Int64(try varint())
                guard pos + 2 <= body.count else { throw DecodingError(message: "bad event") }
                let type = body[pos], flags = body[pos + 1]
                pos += 2
                var r = try record(type, flags, [])
                let n = Int(try varint())
                guard pos + n <= body.count else { throw DecodingError(message: "truncated data") }
                r.data = Array(body[pos..<pos + n])
                pos += n
                events.append(r)
            }
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
