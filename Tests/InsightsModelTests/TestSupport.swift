import Foundation
import InsightsModel

/// 2026-11-24T17:31:55.123Z, the fixed "now" of these tests.
let testNow: Int64 = 1_795_541_515_123

/// A valid event with every field set.
func fullEvent() -> AnalyticsEvent {
    AnalyticsEvent(
        eventID: "evt-0001",
        eventType: .intentClassified,
        timestampMs: testNow - 1000,
        sessionID: "sess:42@web",
        userID: "user_7",
        agentID: "agent.support",
        data: ["intent": "billing", "escalated_to_human": false, "score": 3, "tags": ["a", "b"]],
        channel: "web",
        platform: "ios",
        location: "Zürich",
        durationMs: 1500,
        responseTimeMs: 230,
        confidence: 0.93,
        sentiment: "positive")
}

/// A valid event with only the required fields.
func minimalEvent() -> AnalyticsEvent {
    AnalyticsEvent(eventID: "e1", eventType: .userMessage, timestampMs: testNow, sessionID: "s1")
}

/// The error `validate(now:)` throws, or nil if the event is valid.
func validationError(_ event: AnalyticsEvent, now: Int64 = testNow) -> EventValidationError? {
    do throws(EventValidationError) {
        try event.validate(now: now)
        return nil
    } catch {
        return error
    }
}

/// The error of decoding `json`, or nil if it decodes.
func decodeError(_ json: String, now: Int64 = testNow) -> EventValidationError? {
    if case .failure(let error) = EventDecoding.decode(json: Data(json.utf8), now: now) {
        return error
    }
    return nil
}

/// The event decoded from `json`, or nil on error.
func decoded(_ json: String, now: Int64 = testNow) -> AnalyticsEvent? {
    try? EventDecoding.decode(json: Data(json.utf8), now: now).get()
}

/// Parses JSON text with the module's decoder path.
func jsonValue(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}
