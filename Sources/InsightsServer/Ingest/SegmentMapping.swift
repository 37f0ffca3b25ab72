import Crypto
import Foundation
import InsightsModel

/// Segment's HTTP tracking API (docs/ingest.md, *Segment*): how one message of `POST /v1/batch`
/// (or the body of `POST /v1/track`, …) becomes an Insights event. Pure: the controller gives it
/// the clocks and the agents it may fall back on; the event it makes is then decoded and
/// validated by the same rules as `POST /api/v1/events` (``EventDecoding``).
public enum SegmentMapping {
    /// Segment's limits: 32 KB per message, 500 KB per batch request.
    public static let maxMessageBytes = 32 * 1024
    public static let maxBatchBytes = 500 * 1024

    /// The message types Segment's API takes; only `track` carries events, the others are
    /// accepted, counted and ignored.
    public static let ignoredTypes: Set<String> = ["identify", "page", "screen", "group", "alias"]

    /// What the controller knows beside the message.
    public struct Context: Sendable {
        /// When the request arrived (ms): Segment's `receivedAt`.
        public var receivedAtMs: Int64
        /// The batch's own `sentAt`, for messages without one.
        public var batchSentAt: JSONValue?
        /// The batch's `context`, under each message's own.
        public var batchContext: [String: JSONValue]
        /// The agent of a key limited to exactly one agent.
        public var keyAgent: String?
        /// `--default-agent`.
        public var defaultAgent: String?

        public init(receivedAtMs: Int64, batchSentAt: JSONValue? = nil, batchContext: [String: JSONValue] = [:], keyAgent: String? = nil,
                    defaultAgent: String? = nil) {
            self.receivedAtMs = receivedAtMs
            self.batchSentAt = batchSentAt
            self.batchContext = batchContext
            self.keyAgent = keyAgent
            self.defaultAgent = defaultAgent
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// An event object in the form of `POST /api/v1/events` (decode it with ``EventDecoding``).
        case event([String: JSONValue])
        /// A message of a type that carries no event (`identify`, …).
        case ignored(String)
        /// Refused, with the reason.
        case rejected(String)
    }

    /// The event type a Segment event name stands for: one of the 13 types when it names one,
    /// ignoring case and with spaces and hyphens as underscores ("Conversation Start",
    /// "Intent-Classified"); else nil (a `custom` event).
    public static func eventType(named name: String) -> EventType? {
        var s = ""
        for ch in name.lowercased() { s.append(ch == " " || ch == "-" ? "_" : ch) }
        // The seed's names: "conversation_start" is its own; "Conversation Started" is not one of them.
        return EventType(rawValue: s)
    }

    /// Properties that become the event's own fields (snake_case and camelCase forms), in the order
    /// they are looked for; everything else goes to `data`.
    static let fieldProperties: [(field: String, names: [String])] = [
        ("confidence", ["confidence"]), ("response_time_ms", ["response_time_ms", "responseTimeMs"]),
        ("duration_ms", ["duration_ms", "durationMs"]), ("sentiment", ["sentiment"]), ("channel", ["channel"]),
        ("platform", ["platform"]), ("location", ["location"]),
    ]
    static let sessionNames = ["session_id", "sessionId"]
    static let agentNames = ["agent_id", "agentId"]

    /// Maps one message. `type` is the message's type when the route implies it (`/v1/track`).
    public static func map(_ message: JSONValue, impliedType: String? = nil, context: Context) -> Outcome {
        guard case .object(let msg) = message else { return .rejected("a message must be a JSON object") }
        let size = message.compactJSONByteCount
        if size > maxMessageBytes {
            return .rejected("the message is \(size) bytes as JSON (at most \(maxMessageBytes), Segment's limit)")
        }
        if let implied = impliedType, let given = msg["type"], given != .null, given.stringValue != implied {
            return .rejected("type must be \(implied) (or absent) on /v1/\(implied)")
        }
        guard let type = msg["type"]?.stringValue ?? impliedType else {
            return .rejected("type is required (track, identify, page, screen, group or alias)")
        }
        if ignoredTypes.contains(type) { return .ignored(type) }
        guard type == "track" else {
            return .rejected("type \(FieldRules.quoted(String(type.prefix(40)))) is not one of track, identify, page, screen, group, alias")
        }
        guard let name = msg["event"]?.stringValue, !name.isEmpty else { return .rejected("event (the event's name) is required") }
        var properties: [String: JSONValue]
        switch msg["properties"] {
        case nil, .null?: properties = [:]
        case .object(let p)?: properties = p
        case _?: return .rejected("properties must be an object")
        }
        var out: [String: JSONValue] = [:]
        var data: [String: JSONValue] = [:]

        // Session (required) and agent.
        guard let session = take(sessionNames, from: &properties).flatMap(idText) else {
            return .rejected("properties.session_id (or sessionId) is required: Insights counts conversations by session")
        }
        out["session_id"] = .string(session)
        let agent = take(agentNames, from: &properties).flatMap(idText) ?? context.keyAgent ?? context.defaultAgent
        guard let agent else {
            return .rejected("no agent: send properties.agent_id, use an API key limited to one agent, or start the service with --default-agent")
        }
        out["agent_id"] = .string(agent)

        // Type and name.
        if let t = eventType(named: name) {
            out["event_type"] = .string(t.rawValue)
        } else {
            out["event_type"] = .string(EventType.custom.rawValue)
            data["name"] = .string(name)
        }

        // Ids: messageId (SDKs retry with the same one) and the user.
        out["event_id"] = .string(stableID(msg["messageId"]) ?? "seg-" + digest(message.compactJSONBytes))
        if let user = stableID(msg["userId"]) ?? stableID(msg["anonymousId"]) { out["user_id"] = .string(user) }

        // Time: timestamp (else originalTimestamp), corrected for the sender's clock as Segment does.
        let stamp = msg["timestamp"] ?? msg["originalTimestamp"]
        var ms = context.receivedAtMs
        if let stamp, stamp != .null {
            guard let text = stamp.stringValue, let t = ISO8601.parse(text) else {
                return .rejected("timestamp must be an ISO-8601 date-time")
            }
            ms = t
            if let sent = (msg["sentAt"] ?? context.batchSentAt)?.stringValue, let s = ISO8601.parse(sent) {
                ms = t + (context.receivedAtMs - s)
            }
        }
        out["timestamp"] = .string(ISO8601.format(ms: ms))

        // Fields, then data.
        if let intent = properties.removeValue(forKey: "intent") { data["intent"] = intent }
        for (field, names) in fieldProperties {
            if let v = take(names, from: &properties) { out[field] = v }
        }
        for (k, v) in properties { data[k] = v }
        var ctx = context.batchContext
        if case .object(let own)? = msg["context"] { ctx.merge(own) { _, new in new } }
        if out["channel"] == nil, let c = ctx["channel"]?.stringValue { out["channel"] = .string(c) }
        if out["platform"] == nil, let os = ctx["os"]?["name"]?.stringValue { out["platform"] = .string(os) }
        if !data.isEmpty { out["data"] = .object(data) }
        return .event(out)
    }

    /// The first of `names` present (and not null) in `properties`, removed with its other forms.
    static func take(_ names: [String], from properties: inout [String: JSONValue]) -> JSONValue? {
        var found: JSONValue?
        for n in names {
            if let v = properties.removeValue(forKey: n), v != .null, found == nil { found = v }
        }
        return found
    }

    /// A session or agent id: a string (or an integer, as its text); checked by the id rule later.
    static func idText(_ v: JSONValue) -> String? {
        if let s = v.stringValue { return s }
        if let n = v.intValue { return String(n) }
        return nil
    }

    /// An id that stays the same when the SDK re-sends the message: the value itself when it follows
    /// the id rule, else `seg-` and a digest of it (a user id with a space, a message id over 128
    /// characters); nil when absent.
    static func stableID(_ v: JSONValue?) -> String? {
        guard let v, v != .null, let text = idText(v), !text.isEmpty else { return nil }
        do throws(EventValidationError) {
            try IdentifierRule.check(text, field: "id")
            return text
        } catch {
            return "seg-" + digest(Array(text.utf8))
        }
    }

    /// 32 hex digits of SHA-256.
    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
