import Foundation
import InsightsModel
import Testing

@Suite struct RoundTripTests {
    @Test func jsonBytesHasTheExactWireFormat() {
        let event = AnalyticsEvent(
            eventID: "e1", eventType: .userMessage, timestampMs: 1_795_541_515_123, sessionID: "s1",
            data: ["b": 1, "a": "x\"y"], channel: "web", responseTimeMs: 5, confidence: 0.5)
        #expect(event.jsonString() == #"{"event_id":"e1","event_type":"user_message","timestamp":"2026-11-24T17:31:55.123Z","session_id":"s1","data":{"a":"x\"y","b":1},"channel":"web","response_time_ms":5,"confidence":0.5}"#)
        #expect(minimalEvent().jsonString()
            == #"{"event_id":"e1","event_type":"user_message","timestamp":"2026-11-24T17:31:55.123Z","session_id":"s1","data":{}}"#)
        #expect(event.jsonData() == Data(event.jsonBytes()))
    }

    @Test(arguments: [fullEvent(), minimalEvent()])
    func jsonBytesDecodesToAnEqualEvent(event: AnalyticsEvent) throws {
        let back = try EventDecoding.decode(json: event.jsonData(), now: testNow).get()
        #expect(back == event)
    }

    @Test(arguments: [fullEvent(), minimalEvent()])
    func codableRoundTripGivesAnEqualEvent(event: AnalyticsEvent) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(event)
        #expect(try JSONDecoder().decode(AnalyticsEvent.self, from: data) == event)
        #expect(try EventDecoding.decode(json: data, now: testNow).get() == event)
    }

    @Test func codableEncodingUsesSnakeCaseISOTimestampAndOmitsNils() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(minimalEvent()), as: UTF8.self)
        #expect(text == #"{"data":{},"event_id":"e1","event_type":"user_message","session_id":"s1","timestamp":"2026-11-24T17:31:55.123Z"}"#)
        let full = try JSONSerialization.jsonObject(with: try encoder.encode(fullEvent())) as? [String: Any]
        #expect(Set(full?.keys.map { $0 } ?? []) == [
            "event_id", "event_type", "timestamp", "session_id", "user_id", "agent_id", "data", "channel",
            "platform", "location", "duration_ms", "response_time_ms", "confidence", "sentiment",
        ])
    }

    @Test func codableDecodingReportsFieldErrors() {
        let json = Data(#"{"event_type": "nope", "session_id": "s"}"#.utf8)
        do {
            _ = try JSONDecoder().decode(AnalyticsEvent.self, from: json)
            Issue.record("expected an error")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription == "event_type: unknown event type 'nope'")
            #expect(context.codingPath.map(\.stringValue) == ["event_type"])
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func roundTripPreservesTrickyValues() throws {
        var event = fullEvent()
        event.data = [
            "intent": "a:b", "escalated_to_human": true, "f": 0.1, "tiny": .number(.leastNonzeroMagnitude), "big": 1e300,
            "neg": -0.5, "text": "line1\nline2\t\u{0}end \u{1F600}", "list": [nil, false, 0, [:]],
        ]
        event.confidence = 0.30000000000000004
        event.location = "Lagos \"NG\" \\ /"
        let back = try EventDecoding.decode(json: event.jsonData(), now: testNow).get()
        #expect(back == event)
        #expect(back.data["list"]?[1] == .bool(false))
        #expect(back.data["list"]?[2] == .number(0))
    }

    @Test func defaultInitGeneratesIDAndCurrentTime() {
        let before = EventClock.nowMs()
        let event = AnalyticsEvent(eventType: .conversationStart, sessionID: "s")
        let after = EventClock.nowMs()
        #expect(event.timestampMs >= before && event.timestampMs <= after)
        #expect(UUID(uuidString: event.eventID) != nil)
        #expect(event.eventID == event.eventID.lowercased())
        #expect(event.timestampISO == ISO8601.format(ms: event.timestampMs))
        #expect(validationError(event, now: after) == nil)
    }
}
