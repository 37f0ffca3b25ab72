#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One analytics event, as tracked by a chat platform (the seed's
/// `AnalyticsEvent`).
///
/// The JSON form uses snake_case keys (`event_id`, `event_type`, `timestamp`,
/// `session_id`, `user_id`, `agent_id`, `data`, `channel`, `platform`,
/// `location`, `duration_ms`, `response_time_ms`, `confidence`, `sentiment`);
/// see ``jsonBytes()`` and ``EventDecoding``. Creating a value does not
/// validate it: call ``validate(now:)`` or ``validateForIngest(now:)``.
public struct AnalyticsEvent: Sendable, Equatable {
    /// Unique event id; the ingest script de-duplicates on it.
    public var eventID: String
    /// The kind of event.
    public var eventType: EventType
    /// When the event happened, in milliseconds since the Unix epoch (UTC).
    public var timestampMs: Int64
    /// The conversation (session) the event belongs to.
    public var sessionID: String
    /// The end user, if known.
    public var userID: String?
    /// The agent (bot) the event belongs to. Optional in the model because the
    /// tracker may supply a default; required by ``validateForIngest(now:)``.
    public var agentID: String?
    /// Free-form event data. Known members: `intent` (string) and
    /// `escalated_to_human` (bool).
    public var data: [String: JSONValue]
    /// The channel, e.g. `web`, `mobile`, `voice`.
    public var channel: String?
    /// The platform, e.g. `ios`, `android`, `web`.
    public var platform: String?
    /// A free-form location.
    public var location: String?
    /// Duration of the operation the event describes, in milliseconds.
    public var durationMs: Int?
    /// Bot response latency, in milliseconds.
    public var responseTimeMs: Int?
    /// Classifier confidence in [0, 1].
    public var confidence: Double?
    /// A sentiment label.
    public var sentiment: String?

    /// Creates an event. `eventID` defaults to a new lowercase UUID and
    /// `timestampMs` to the current time.
    public init(
        eventID: String = AnalyticsEvent.newEventID(),
        eventType: EventType,
        timestampMs: Int64 = EventClock.nowMs(),
        sessionID: String,
        userID: String? = nil,
        agentID: String? = nil,
        data: [String: JSONValue] = [:],
        channel: String? = nil,
        platform: String? = nil,
        location: String? = nil,
        durationMs: Int? = nil,
        responseTimeMs: Int? = nil,
        confidence: Double? = nil,
        sentiment: String? = nil
    ) {
        self.eventID = eventID
        self.eventType = eventType
        self.timestampMs = timestampMs
        self.sessionID = sessionID
        self.userID = userID
        self.agentID = agentID
        self.data = data
        self.channel = channel
        self.platform = platform
        self.location = location
        self.durationMs = durationMs
        self.responseTimeMs = responseTimeMs
        self.confidence = confidence
        self.sentiment = sentiment
    }

    /// A new random event id: a lowercase UUID string.
    public static func newEventID() -> String {
        UUID().uuidString.lowercased()
    }

    /// `data["intent"]` if it is a non-empty string, else `nil`.
    public var intent: String? {
        if case .string(let value)? = data["intent"], !value.isEmpty { return value }
        return nil
    }

    /// The longest name counted by name (``workflowName``, ``counterName(_:)``), in Unicode scalars.
    public static let maxCounterNameLength = 64

    /// `data["workflow"]` as a ``counterName(_:)`` (a string only): the event still counts as a
    /// workflow event without one, not by name.
    public var workflowName: String? {
        if case .string? = data["workflow"] { return Self.counterName(data["workflow"]) }
        return nil
    }

    /// A `data` value as a bucket field suffix: a string of 1 to 64 characters without control
    /// characters, or an integer as its decimal text (an error `code` of 503); else `nil`.
    public static func counterName(_ v: JSONValue?) -> String? {
        switch v {
        case .string(let value)?:
            guard !value.isEmpty, value.unicodeScalars.count <= maxCounterNameLength,
                  !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
            return value
        case .number?:
            return v?.intValue.map { String($0) }
        default:
            return nil
        }
    }

    /// Whether `data["escalated_to_human"]` is JSON `true` (a number `1` is not).
    public var escalatedToHuman: Bool {
        data["escalated_to_human"] == .bool(true)
    }

    /// The timestamp as ISO-8601 UTC with milliseconds, e.g.
    /// `2026-11-24T17:31:55.123Z`.
    public var timestampISO: String {
        ISO8601.format(ms: timestampMs)
    }
}

/// The wall clock in epoch milliseconds.
public enum EventClock {
    /// The current time in milliseconds since the Unix epoch.
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
