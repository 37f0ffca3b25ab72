import InsightsModel
import Testing

@Suite struct IDValidationTests {

    @Test func validEventsPass() {
        #expect(validationError(fullEvent()) == nil)
        #expect(validationError(minimalEvent()) == nil)
        #expect(fullEvent().validationErrors(now: testNow).isEmpty)
    }

    @Test(arguments: ["event_id", "session_id"])
    func requiredIDRules(field: String) {
        let path: WritableKeyPath<AnalyticsEvent, String> = field == "event_id" ? \.eventID : \.sessionID
        func error(_ value: String) -> EventValidationError? {
            var event = fullEvent()
            event[keyPath: path] = value
            return validationError(event)
        }
        #expect(error(String(repeating: "a", count: 128)) == nil)
        #expect(error("A-z_0.9:x@y") == nil)
        #expect(error(String(repeating: "a", count: 129))
            == EventValidationError(field: field, message: "must be at most 128 characters (got 129)"))
        #expect(error("") == EventValidationError(field: field, message: "must not be empty"))
        #expect(error("ab{c}") == EventValidationError(
            field: field,
            message: "contains disallowed character '{' at offset 2; allowed characters are A-Z a-z 0-9 . _ : @ -"))
        #expect(error("abc}")?.message.hasPrefix("contains disallowed character '}' at offset 3") == true)
        #expect(error("a\r\nb")?.message.hasPrefix("contains a carriage return (CR) at offset 1") == true)
        #expect(error("a\nb")?.message.hasPrefix("contains a line feed (LF) at offset 1") == true)
        #expect(error("a b")?.message.hasPrefix("contains a space at offset 1") == true)
        #expect(error("a\tb")?.message.hasPrefix("contains control character U+0009 at offset 1") == true)
        #expect(error("é")?.message.hasPrefix("contains a non-ASCII character at offset 0") == true)
        #expect(error("a/b")?.field == field)
        #expect(error("a/b")?.message.hasPrefix("contains disallowed character '/'") == true)
    }

    @Test func longIDWithLateBadCharacterIsReportedAsTooLong() {
        var event = minimalEvent()
        event.sessionID = String(repeating: "a", count: 200) + "{"
        #expect(validationError(event)
            == EventValidationError(field: "session_id", message: "must be at most 128 characters (got 201)"))
    }

    @Test(arguments: ["user_id", "agent_id"])
    func optionalIDRules(field: String) {
        let path: WritableKeyPath<AnalyticsEvent, String?> = field == "user_id" ? \.userID : \.agentID
        var event = fullEvent()
        event[keyPath: path] = nil
        #expect(validationError(event) == nil)
        event[keyPath: path] = String(repeating: "x", count: 128)
        #expect(validationError(event) == nil)
        event[keyPath: path] = String(repeating: "x", count: 129)
        #expect(validationError(event)?.field == field)
        event[keyPath: path] = "{agent}"
        #expect(validationError(event)?.field == field)
        event[keyPath: path] = ""
        #expect(validationError(event) == EventValidationError(field: field, message: "must not be empty"))
    }

    @Test func ingestRequiresAgentID() throws {
        var event = minimalEvent()
        #expect(throws: EventValidationError(field: "agent_id", message: "is required")) {
            try event.validateForIngest(now: testNow)
        }
        event.agentID = "support-bot"
        try event.validateForIngest(now: testNow)
        event.agentID = "bad agent"
        #expect(throws: EventValidationError.self) { try event.validateForIngest(now: testNow) }
        #expect(minimalEvent().validationErrors(now: testNow, requireAgentID: true).map(\.field) == ["agent_id"])
    }
}

@Suite struct ValueValidationTests {
    @Test func timestampBounds() {
        var event = minimalEvent()
        event.timestampMs = testNow + 300_000
        #expect(validationError(event) == nil)
        event.timestampMs = testNow + 300_001
        #expect(validationError(event) == EventValidationError(
            field: "timestamp",
            message: "must not be more than 5 minutes in the future "
                + "(got 2026-11-24T17:36:55.124Z, now 2026-11-24T17:31:55.123Z)"))
        event.timestampMs = 946_684_800_000
        #expect(validationError(event) == nil)
        event.timestampMs = 946_684_799_999
        #expect(validationError(event) == EventValidationError(
            field: "timestamp",
            message: "must not be before 2000-01-01T00:00:00Z (got 1999-12-31T23:59:59.999Z)"))
        event.timestampMs = -5
        #expect(validationError(event)?.field == "timestamp")
        event.timestampMs = .max
        #expect(validationError(event)?.field == "timestamp")
        event.timestampMs = .min
        #expect(validationError(event)?.field == "timestamp")
    }

    @Test func confidenceBounds() {
        var event = minimalEvent()
        for ok in [0.0, 0.5, 1.0] {
            event.confidence = ok
            #expect(validationError(event) == nil)
        }
        event.confidence = 1.0001
        #expect(validationError(event)
            == EventValidationError(field: "confidence", message: "must be between 0 and 1 (got 1.0001)"))
        event.confidence = -0.01
        #expect(validationError(event)?.message == "must be between 0 and 1 (got -0.01)")
        event.confidence = .nan
        #expect(validationError(event)
            == EventValidationError(field: "confidence", message: "must be a finite number"))
        event.confidence = .infinity
        #expect(validationError(event)?.message == "must be a finite number")
    }

    @Test(arguments: ["duration_ms", "response_time_ms"])
    func durationBounds(field: String) {
        func error(_ value: Int) -> EventValidationError? {
            var event = minimalEvent()
            if field == "duration_ms" { event.durationMs = value } else { event.responseTimeMs = value }
            return validationError(event)
        }
        #expect(error(0) == nil)
        #expect(error(86_400_000) == nil)
        #expect(error(86_400_001) == EventValidationError(
            field: field, message: "must be at most 86400000 ms (a 24-hour sanity cap; got 86400001)"))
        #expect(error(-1) == EventValidationError(field: field, message: "must not be negative (got -1)"))
    }

    @Test(arguments: ["channel", "platform", "location", "sentiment"])
    func textFieldRules(field: String) {
        let path: WritableKeyPath<AnalyticsEvent, String?> = switch field {
        case "channel": \.channel
        case "platform": \.platform
        case "location": \.location
        default: \.sentiment
        }
        func error(_ value: String) -> EventValidationError? {
            var event = minimalEvent()
            event[keyPath: path] = value
            return validationError(event)
        }
        #expect(error(String(repeating: "x", count: 64)) == nil)
        #expect(error(String(repeating: "é", count: 64)) == nil)  // characters, not bytes
        #expect(error("São Paulo {x} / 5") == nil)
        #expect(error("") == nil)
        #expect(error(String(repeating: "x", count: 65))
            == EventValidationError(field: field, message: "must be at most 64 characters (got 65)"))
        #expect(error("a\r\nb") == EventValidationError(
            field: field, message: "must not contain control characters (found U+000D at character 1)"))
        #expect(error("tab\there")?.message == "must not contain control characters (found U+0009 at character 3)")
        #expect(error("del\u{7F}")?.message == "must not contain control characters (found U+007F at character 3)")
        #expect(error("c1\u{85}")?.message == "must not contain control characters (found U+0085 at character 2)")
    }

    @Test func validationErrorsListsOneErrorPerFieldInOrder() {
        var event = minimalEvent()
        event.eventID = ""
        event.sessionID = "a b"
        event.channel = "\n"
        event.confidence = 2
        event.durationMs = -1
        let errors = event.validationErrors(now: testNow)
        #expect(errors.map(\.field) == ["event_id", "session_id", "channel", "duration_ms", "confidence"])
        #expect(validationError(event) == errors.first)
    }

    @Test func errorDescriptionIsFieldColonMessage() {
        let error = EventValidationError(field: "event_type", message: "unknown event type 'foo'")
        #expect(error.description == "event_type: unknown event type 'foo'")
        #expect("\(error)" == "event_type: unknown event type 'foo'")
    }
}
