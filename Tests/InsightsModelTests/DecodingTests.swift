import Foundation
import InsightsModel
import Testing

@Suite struct DecodingTests {
    @Test func decodesAFullSeedStyleEvent() throws {
        let json = """
            {"event_id": "e-1", "event_type": "bot_response", "timestamp": "2026-11-24T17:31:55.123456",
             "session_id": "s-1", "user_id": "u-1", "agent_id": "a-1",
             "data": {"intent": "greet", "escalated_to_human": true, "nested": {"x": [1, 2]}},
             "channel": "web", "platform": "android", "location": "Berlin",
             "duration_ms": 1200, "response_time_ms": 340, "confidence": 0.87, "sentiment": "neutral",
             "unknown_extra": {"ignored": true}}
            """
        let event = try #require(decoded(json))
        #expect(event == AnalyticsEvent(
            eventID: "e-1", eventType: .botResponse, timestampMs: 1_795_541_515_123, sessionID: "s-1",
            userID: "u-1", agentID: "a-1",
            data: ["intent": "greet", "escalated_to_human": true, "nested": ["x": [1, 2]]],
            channel: "web", platform: "android", location: "Berlin", durationMs: 1200, responseTimeMs: 340,
            confidence: 0.87, sentiment: "neutral"))
        #expect(event.intent == "greet")
        #expect(event.escalatedToHuman)
    }

    @Test func missingEventIDAndTimestampGetDefaults() throws {
        let event = try #require(decoded(#"{"event_type": "custom", "session_id": "s"}"#))
        #expect(event.timestampMs == testNow)
        #expect(event.eventID.count == 36)
        #expect(event.eventID == event.eventID.lowercased())
        #expect(UUID(uuidString: event.eventID) != nil)
        #expect(event.data.isEmpty)
        #expect(event.userID == nil && event.agentID == nil && event.confidence == nil)
        let other = try #require(decoded(#"{"event_type": "custom", "session_id": "s"}"#))
        #expect(other.eventID != event.eventID)
    }

    @Test func nullIsTheSameAsAbsent() throws {
        let event = try #require(decoded(
            #"{"event_id": null, "event_type": "error", "timestamp": null, "session_id": "s", "user_id": null, "data": null, "confidence": null}"#))
        #expect(event.timestampMs == testNow)
        #expect(event.userID == nil)
        #expect(event.data == [:])
        #expect(event.confidence == nil)
        #expect(decodeError(#"{"event_type": "error", "session_id": null}"#)
            == EventValidationError(field: "session_id", message: "is required"))
    }

    @Test func requiredFieldsAndEventType() {
        #expect(decodeError(#"{"session_id": "s"}"#)
            == EventValidationError(field: "event_type", message: "is required"))
        #expect(decodeError(#"{"event_type": "custom"}"#)
            == EventValidationError(field: "session_id", message: "is required"))
        #expect(decodeError(#"{"event_type": "foo", "session_id": "s"}"#)
            == EventValidationError(field: "event_type", message: "unknown event type 'foo'"))
        #expect(decodeError(#"{"event_type": "foo", "session_id": "s"}"#)?.description
            == "event_type: unknown event type 'foo'")
        #expect(decodeError(#"{"event_type": "USER_MESSAGE", "session_id": "s"}"#)?.message
            == "unknown event type 'USER_MESSAGE'")
        #expect(decodeError(#"{"event_type": 3, "session_id": "s"}"#)
            == EventValidationError(field: "event_type", message: "must be a string (got a number)"))
    }

    @Test(arguments: [
        (#""confidence": "0.9""#, "confidence", "must be a number (got a string)"),
        (#""confidence": true"#, "confidence", "must be a number (got a boolean)"),
        (#""duration_ms": 1.5"#, "duration_ms", "must be an integer (got 1.5)"),
        (#""duration_ms": "15""#, "duration_ms", "must be an integer (got a string)"),
        (#""response_time_ms": false"#, "response_time_ms", "must be an integer (got a boolean)"),
        (#""response_time_ms": 1e30"#, "response_time_ms",
         "must be at most 86400000 ms (a 24-hour sanity cap; got 1e+30)"),
        (#""response_time_ms": -1e30"#, "response_time_ms", "must not be negative (got -1e+30)"),
        (#""response_time_ms": -3"#, "response_time_ms", "must not be negative (got -3)"),
        (#""user_id": 12"#, "user_id", "must be a string (got a number)"),
        (#""agent_id": ["a"]"#, "agent_id", "must be a string (got an array)"),
        (#""event_id": {}"#, "event_id", "must be a string (got an object)"),
        (#""channel": 1"#, "channel", "must be a string (got a number)"),
        (#""sentiment": false"#, "sentiment", "must be a string (got a boolean)"),
        (#""data": [1]"#, "data", "must be an object (got an array)"),
        (#""data": "x""#, "data", "must be an object (got a string)"),
        (#""timestamp": 1795541515123"#, "timestamp", "must be an ISO-8601 date-time string (got a number)"),
        (#""timestamp": "2023-02-29T00:00:00Z""#, "timestamp",
         "is not a valid ISO-8601 timestamp: '2023-02-29T00:00:00Z'"),
        (#""timestamp": "2026-11-24T17:36:55.124Z""#, "timestamp",
         "must not be more than 5 minutes in the future (got 2026-11-24T17:36:55.124Z, now 2026-11-24T17:31:55.123Z)"),
        (#""user_id": "a{b}""#, "user_id",
         "contains disallowed character '{' at offset 1; allowed characters are A-Z a-z 0-9 . _ : @ -"),
        (#""data": {"escalated_to_human": 1}"#, "data.escalated_to_human", "must be a boolean (true or false)"),
        (#""data": {"intent": 7}"#, "data.intent", "must be a string"),
    ])
    func wrongTypesAndValuesGiveFieldErrors(member: String, field: String, message: String) {
        let json = #"{"event_type": "intent_classified", "session_id": "s", "# + member + "}"
        #expect(decodeError(json) == EventValidationError(field: field, message: message))
    }

    @Test func integralNumbersAreAcceptedForIntegerFields() throws {
        let event = try #require(decoded(
            #"{"event_type": "api_call", "session_id": "s", "duration_ms": 2.0, "response_time_ms": 1e3, "confidence": 1}"#))
        #expect(event.durationMs == 2)
        #expect(event.responseTimeMs == 1000)
        #expect(event.confidence == 1.0)
    }

    @Test func timestampAtTheFutureLimitIsAccepted() throws {
        let event = try #require(decoded(
            #"{"event_type": "custom", "session_id": "s", "timestamp": "2026-11-24T17:36:55.123Z"}"#))
        #expect(event.timestampMs == testNow + 300_000)
    }

    @Test func malformedOrNonObjectJSON() {
        #expect(decodeError("{\"event_type\": ")?.field == "event")
        #expect(decodeError("{\"event_type\": ")?.message.hasPrefix("malformed JSON") == true)
        #expect(decodeError("[]") == EventValidationError(field: "event", message: "must be a JSON object (got an array)"))
        #expect(decodeError("42") == EventValidationError(field: "event", message: "must be a JSON object (got a number)"))
    }

    @Test func tooDeepDataInJSONIsRejected() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(decodeError(#"{"event_type": "custom", "session_id": "s", "data": {"x": "# + deep + "}}")
            == EventValidationError(field: "data", message: "nesting depth must be at most 32 (data itself is level 1)"))
        let ok = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        #expect(decoded(#"{"event_type": "custom", "session_id": "s", "data": {"x": "# + ok + "}}") != nil)
    }

    @Test func decodeFromObjectAndValue() {
        let object: [String: JSONValue] = ["event_type": "user_message", "session_id": "s", "user_id": "u"]
        let event = try? EventDecoding.decode(object: object, now: testNow).get()
        #expect(event?.userID == "u")
        #expect(event?.eventType == .userMessage)
        if case .failure(let error) = EventDecoding.decode(value: "text", now: testNow) {
            #expect(error == EventValidationError(field: "event", message: "must be a JSON object (got a string)"))
        } else {
            Issue.record("a string must not decode as an event")
        }
    }
}
