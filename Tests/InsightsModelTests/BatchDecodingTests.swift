import Foundation
import InsightsModel
import Testing

@Suite struct BatchDecodingTests {
    func batch(_ json: String, max: Int = 1000) throws(BatchDecodingError) -> [Result<AnalyticsEvent, EventValidationError>] {
        try EventDecoding.decodeBatch(json: Data(json.utf8), now: testNow, maxEvents: max)
    }

    static let three = """
        {"event_id": "a", "event_type": "user_message", "session_id": "s"},
        {"event_id": "b", "event_type": "bogus", "session_id": "s"},
        {"event_id": "c", "event_type": "bot_response", "session_id": "s", "response_time_ms": 12}
        """

    func check(_ results: [Result<AnalyticsEvent, EventValidationError>]) {
        #expect(results.count == 3)
        #expect((try? results[0].get())?.eventID == "a")
        #expect((try? results[2].get())?.responseTimeMs == 12)
        if case .failure(let error) = results[1] {
            #expect(error == EventValidationError(field: "event_type", message: "unknown event type 'bogus'"))
        } else {
            Issue.record("element 1 must fail")
        }
    }

    @Test func decodesAnArray() throws {
        check(try batch("[" + Self.three + "]"))
    }

    @Test func decodesAWrappedObject() throws {
        check(try batch(#"{"events": ["# + Self.three + #"], "client": "sdk-1.2"}"#))
    }

    @Test func nonObjectElementFailsOnlyItsIndex() throws {
        let results = try batch(#"[{"event_type": "custom", "session_id": "s"}, 5, {"event_type": "error", "session_id": "t"}]"#)
        #expect(results.count == 3)
        #expect((try? results[0].get())?.sessionID == "s")
        #expect((try? results[2].get())?.sessionID == "t")
        guard case .failure(let error) = results[1] else {
            Issue.record("element 1 must fail")
            return
        }
        #expect(error == EventValidationError(field: "event", message: "must be a JSON object (got a number)"))
    }

    @Test func emptyBatchIsEmpty() throws {
        #expect(try batch("[]").isEmpty)
        #expect(try batch(#"{"events": []}"#).isEmpty)
    }

    @Test func malformedJSON() {
        do {
            _ = try batch(#"[{"event_type": "custom",]"#)
            Issue.record("expected an error")
        } catch {
            guard case .malformedJSON = error else {
                Issue.record("expected malformedJSON, got \(error)")
                return
            }
            #expect(error.description.hasPrefix("malformed JSON: "))
        }
        #expect(throws: BatchDecodingError.self) { try batch("") }
    }

    @Test func wrongTopLevelShape() {
        #expect(throws: BatchDecodingError.invalidShape(
            "expected a JSON array or an object with an \"events\" array (got a string)")) { try batch(#""x""#) }
        #expect(throws: BatchDecodingError.invalidShape(
            "expected a JSON array or an object with an \"events\" array")) { try batch(#"{"items": []}"#) }
        #expect(throws: BatchDecodingError.invalidShape("\"events\" must be an array (got an object)")) {
            try batch(#"{"events": {}}"#)
        }
    }

    @Test func tooManyEvents() throws {
        let element = #"{"event_type": "custom", "session_id": "s"}"#
        let fits = "[" + Array(repeating: element, count: 1000).joined(separator: ",") + "]"
        #expect(try batch(fits).count == 1000)
        let tooMany = "[" + Array(repeating: element, count: 1001).joined(separator: ",") + "]"
        #expect(throws: BatchDecodingError.tooManyEvents(count: 1001, max: 1000)) { try batch(tooMany) }
        #expect(throws: BatchDecodingError.tooManyEvents(count: 3, max: 2)) {
            try batch("[" + Self.three + "]", max: 2)
        }
        #expect(BatchDecodingError.tooManyEvents(count: 3, max: 2).description
            == "too many events: 3 (at most 2 per batch)")
    }

    @Test func boolAndNumberAreDistinguishedPerElement() throws {
        let results = try batch("""
            [{"event_type": "custom", "session_id": "s", "data": {"escalated_to_human": true}},
             {"event_type": "custom", "session_id": "s", "data": {"escalated_to_human": 1}},
             {"event_type": "custom", "session_id": "s", "confidence": true},
             {"event_type": "custom", "session_id": "s", "confidence": 1}]
            """)
        #expect((try? results[0].get())?.escalatedToHuman == true)
        #expect((try? results[0].get())?.data["escalated_to_human"] == .bool(true))
        #expect(results[1] == .failure(EventValidationError(
            field: "data.escalated_to_human", message: "must be a boolean (true or false)")))
        #expect(results[2] == .failure(EventValidationError(
            field: "confidence", message: "must be a number (got a boolean)")))
        #expect((try? results[3].get())?.confidence == 1.0)
    }
}
