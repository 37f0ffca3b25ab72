#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension AnalyticsEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case eventType = "event_type"
        case timestamp
        case sessionID = "session_id"
        case userID = "user_id"
        case agentID = "agent_id"
        case data, channel, platform, location
        case durationMs = "duration_ms"
        case responseTimeMs = "response_time_ms"
        case confidence, sentiment
    }

    /// Decodes the snake_case JSON form. Member types are checked as in
    /// ``EventDecoding`` (a missing `event_id` gets a new UUID, a missing
    /// `timestamp` is the current time), but value ranges are not: call
    /// ``validate(now:)`` afterwards, or use ``EventDecoding`` directly.
    public init(from decoder: any Decoder) throws {
        let object = try decoder.singleValueContainer().decode([String: JSONValue].self)
        do throws(EventValidationError) {
            self = try EventDecoding.build(from: object, now: EventClock.nowMs())
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath + [AnyKey(error.field)],
                debugDescription: error.description,
                underlyingError: error))
        }
    }

    /// Encodes the snake_case JSON form: `timestamp` as ISO-8601 UTC with
    /// milliseconds, nil optionals omitted, `data` always present.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(eventType, forKey: .eventType)
        try container.encode(ISO8601.format(ms: timestampMs), forKey: .timestamp)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encodeIfPresent(userID, forKey: .userID)
        try container.encodeIfPresent(agentID, forKey: .agentID)
        try container.encode(data, forKey: .data)
        try container.encodeIfPresent(channel, forKey: .channel)
        try container.encodeIfPresent(platform, forKey: .platform)
        try container.encodeIfPresent(location, forKey: .location)
        try container.encodeIfPresent(durationMs, forKey: .durationMs)
        try container.encodeIfPresent(responseTimeMs, forKey: .responseTimeMs)
        try container.encodeIfPresent(confidence, forKey: .confidence)
        try container.encodeIfPresent(sentiment, forKey: .sentiment)
    }
}

extension AnalyticsEvent {
    /// The compact, deterministic JSON form (UTF-8), as stored in the Redis
    /// stream: members in the fixed order event_id, event_type, timestamp,
    /// session_id, user_id, agent_id, data, channel, platform, location,
    /// duration_ms, response_time_ms, confidence, sentiment; nil optionals
    /// omitted; `data` always written with sorted keys. Much faster than
    /// `JSONEncoder`, and decodes back to an equal event with ``EventDecoding``.
    public func jsonBytes() -> [UInt8] {
        var sink = ByteSink()
        sink.bytes.reserveCapacity(256)
        sink.write("{\"event_id\":".utf8)
        JSONWriter.writeString(eventID, to: &sink)
        sink.write(",\"event_type\":\"".utf8)
        sink.write(eventType.rawValue.utf8)
        sink.write("\",\"timestamp\":\"".utf8)
        sink.write(ISO8601.format(ms: timestampMs).utf8)
        sink.write("\",\"session_id\":".utf8)
        JSONWriter.writeString(sessionID, to: &sink)
        writeMember("user_id", userID, to: &sink)
        writeMember("agent_id", agentID, to: &sink)
        sink.write(",\"data\":".utf8)
        JSONWriter.writeObject(data, to: &sink)
        writeMember("channel", channel, to: &sink)
        writeMember("platform", platform, to: &sink)
        writeMember("location", location, to: &sink)
        if let durationMs {
            sink.write(",\"duration_ms\":".utf8)
            JSONWriter.writeInt(durationMs, to: &sink)
        }
        if let responseTimeMs {
            sink.write(",\"response_time_ms\":".utf8)
            JSONWriter.writeInt(responseTimeMs, to: &sink)
        }
        if let confidence {
            sink.write(",\"confidence\":".utf8)
            JSONWriter.writeNumber(confidence, to: &sink)
        }
        writeMember("sentiment", sentiment, to: &sink)
        sink.write(UInt8(ascii: "}"))
        return sink.bytes
    }

    /// ``jsonBytes()`` as `Data`.
    public func jsonData() -> Data {
        Data(jsonBytes())
    }

    /// ``jsonBytes()`` as a `String`.
    public func jsonString() -> String {
        String(decoding: jsonBytes(), as: UTF8.self)
    }

    private func writeMember(_ key: String, _ value: String?, to sink: inout ByteSink) {
        guard let value else { return }
        sink.write(UInt8(ascii: ","))
        sink.write(UInt8(ascii: "\""))
        sink.write(key.utf8)
        sink.write("\":".utf8)
        JSONWriter.writeString(value, to: &sink)
    }
}
