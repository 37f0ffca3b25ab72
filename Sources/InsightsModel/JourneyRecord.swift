/// One event as a journey keeps it: what `users/journey/{session_id}` answers (time, type, data,
/// event id, response time) and what the workers need to finalize a session (intent, escalation),
/// in a binary form `lua/` can read with `struct.unpack` (docs/keys.md, "Journey records").
///
/// Built once, at the edge (the tracker or the HTTP front, from the validated event): ingest writes
/// it into the stream entry and the workers append it to the session's journey unchanged, so an event
/// is never parsed or validated again after it was accepted.
///
///     u16 LE  n        length of the rest of the record
///     u48 LE  ts       event time, ms since the epoch
///     u8      type     EventType.code
///     u8      flags    1 = data.escalated_to_human is true, 2 = response_time_ms present
///     u8      k, k bytes   the event id, stored form (StoredEventID)
///     u16 LE  i, i bytes   the intent (intent_classified with a non-empty data.intent), else 0
///     u32 LE  rt       response_time_ms, if flag 2
///     ...     data     the event's data as compact JSON (sorted keys); empty for {}
public struct JourneyRecord: Sendable, Equatable {
    public var timestampMs: Int64
    public var type: EventType
    public var escalated: Bool
    /// The event id in its stored form (``StoredEventID``).
    public var idField: [UInt8]
    public var intent: String?
    public var responseTimeMs: Int?
    /// `data` as compact JSON; empty for `{}`.
    public var data: [UInt8]

    public static let escalatedFlag: UInt8 = 1
    public static let responseTimeFlag: UInt8 = 2

    public init(timestampMs: Int64, type: EventType, escalated: Bool, idField: [UInt8], intent: String?,
                responseTimeMs: Int?, data: [UInt8]) {
        self.timestampMs = timestampMs
        self.type = type
        self.escalated = escalated
        self.idField = idField
        self.intent = intent
        self.responseTimeMs = responseTimeMs
        self.data = data
    }

    /// The record of a validated event.
    public init(event: AnalyticsEvent) {
        var data: [UInt8] = []
        if !event.data.isEmpty {
            var sink = ByteSink()
            JSONWriter.writeObject(event.data, to: &sink)
            data = sink.bytes
        }
        self.init(timestampMs: event.timestampMs, type: event.eventType, escalated: event.escalatedToHuman,
                  idField: StoredEventID.field(event.eventID),
                  intent: event.eventType == .intentClassified ? event.intent : nil,
                  responseTimeMs: event.responseTimeMs, data: data)
    }

    /// The event id (decoded from its stored form).
    public var eventID: String? { StoredEventID.id(idField) }

    public var flags: UInt8 {
        (escalated ? Self.escalatedFlag : 0) | (responseTimeMs != nil ? Self.responseTimeFlag : 0)
    }

    /// Appends the record's bytes.
    public func encode(into out: inout [UInt8]) {
        let intentBytes = Array((intent ?? "").utf8)
        let n = 6 + 1 + 1 + 1 + idField.count + 2 + intentBytes.count + (responseTimeMs != nil ? 4 : 0) + data.count
        precondition(n <= 0xFFFF && idField.count <= 0xFF && intentBytes.count <= 0xFFFF, "journey record too large")
        out.reserveCapacity(out.count + 2 + n)
        Self.appendLE(UInt64(n), 2, to: &out)
        Self.appendLE(UInt64(max(0, timestampMs)), 6, to: &out)
        out.append(type.code)
        out.append(flags)
        out.append(UInt8(idField.count))
        out.append(contentsOf: idField)
        Self.appendLE(UInt64(intentBytes.count), 2, to: &out)
        out.append(contentsOf: intentBytes)
        if let rt = responseTimeMs { Self.appendLE(UInt64(max(0, rt)), 4, to: &out) }
        out.append(contentsOf: data)
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "journey record at byte \(offset): \(message)" }
    }

    /// Every record of a concatenation (a journey key's value).
    public static func decodeAll(_ bytes: some Collection<UInt8>) throws(DecodingError) -> [JourneyRecord] {
        let b = Array(bytes)
        var out: [JourneyRecord] = []
        var pos = 0
        while pos < b.count {
            let (record, next) = try decode(b, at: pos)
            out.append(record)
            pos = next
        }
        return out
    }

    /// The record starting at `pos`, and where the next one starts.
    public static func decode(_ b: [UInt8], at pos: Int) throws(DecodingError) -> (JourneyRecord, Int) {
        func le(_ at: Int, _ n: Int) throws(DecodingError) -> UInt64 {
            guard at + n <= b.count else { throw DecodingError(offset: pos, message: "truncated") }
            var v: UInt64 = 0
            for i in stride(from: n - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[at + i]) }
            return v
        }
        let n = Int(try le(pos, 2))
        let end = pos + 2 + n
        guard n >= 11, end <= b.count else { throw DecodingError(offset: pos, message: "bad length \(n)") }
        let ts = Int64(try le(pos + 2, 6))
        guard let type = EventType(code: b[pos + 8]) else { throw DecodingError(offset: pos, message: "unknown type code \(b[pos + 8])") }
        let flags = b[pos + 9]
        let k = Int(b[pos + 10])
        var at = pos + 11
        guard at + k + 2 <= end else { throw DecodingError(offset: pos, message: "bad id length") }
        let id = Array(b[at..<at + k])
        at += k
        let i = Int(try le(at, 2))
        at += 2
        guard at + i <= end else { throw DecodingError(offset: pos, message: "bad intent length") }
        let intent = i > 0 ? String(decoding: b[at..<at + i], as: UTF8.self) : nil
        at += i
        var rt: Int?
        if flags & responseTimeFlag != 0 {
            guard at + 4 <= end else { throw DecodingError(offset: pos, message: "truncated response time") }
            rt = Int(try le(at, 4))
            at += 4
        }
        let record = JourneyRecord(timestampMs: ts, type: type, escalated: flags & escalatedFlag != 0, idField: id,
                                   intent: intent, responseTimeMs: rt, data: Array(b[at..<end]))
        return (record, end)
    }

    static func appendLE(_ v: UInt64, _ n: Int, to out: inout [UInt8]) {
        for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}
