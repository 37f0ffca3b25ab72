import InsightsModel
import Testing

/// An object nested `depth` levels deep: depth 1 is `{}`.
func nestedObject(depth: Int) -> JSONValue {
    var value: JSONValue = .object([:])
    for _ in 1..<depth { value = .object(["n": value]) }
    return value
}

@Suite struct DataValidationTests {
    func error(_ data: [String: JSONValue]) -> EventValidationError? {
        var event = minimalEvent()
        event.data = data
        return validationError(event)
    }

    @Test func sizeLimitIs16KiBOfCompactJSON() {
        // {"k":"…"} is 8 bytes plus the string.
        let atLimit: [String: JSONValue] = ["k": .string(String(repeating: "x", count: 16_376))]
        #expect(JSONValue.object(atLimit).compactJSONByteCount == 16_384)
        #expect(error(atLimit) == nil)
        let overLimit: [String: JSONValue] = ["k": .string(String(repeating: "x", count: 16_377))]
        #expect(error(overLimit) == EventValidationError(
            field: "data", message: "must be at most 16384 bytes as compact JSON (got 16385)"))
    }

    @Test func sizeCountsEscapesAndUTF8Bytes() {
        // "\n" encodes as 2 bytes, "é" as 2 UTF-8 bytes: 8 + 2 * 8188 = 16384.
        #expect(error(["k": .string(String(repeating: "\n", count: 8_188))]) == nil)
        #expect(error(["k": .string(String(repeating: "é", count: 8_188))]) == nil)
        #expect(error(["k": .string(String(repeating: "é", count: 8_189))])?.field == "data")
    }

    @Test func nestingDepthLimitIs32() {
        // data itself is level 1, so a member nested 31 deep gives depth 32.
        #expect(error(["n": nestedObject(depth: 31)]) == nil)
        #expect(error(["n": nestedObject(depth: 32)]) == EventValidationError(
            field: "data", message: "nesting depth must be at most 32 (data itself is level 1)"))
        #expect(error(["n": .array([nestedObject(depth: 32)])])?.field == "data")
        // Very deep values are rejected without walking them all.
        #expect(error(["n": nestedObject(depth: 5_000)])?.field == "data")
    }

    @Test func intentRules() {
        #expect(error(["intent": "check_balance"]) == nil)
        #expect(error(["intent": .string(String(repeating: "i", count: 128))]) == nil)
        #expect(error(["intent": .string("résumé:{x} y")]) == nil)
        #expect(error(["intent": nil]) == nil)
        #expect(error(["intent": .string(String(repeating: "i", count: 129))])
            == EventValidationError(field: "data.intent", message: "must be at most 128 characters (got 129)"))
        #expect(error(["intent": ""])
            == EventValidationError(field: "data.intent", message: "must not be empty"))
        #expect(error(["intent": "a\nb"])
            == EventValidationError(
                field: "data.intent", message: "must not contain control characters (found U+000A at character 1)"))
        #expect(error(["intent": 5]) == EventValidationError(field: "data.intent", message: "must be a string"))
        #expect(error(["intent": ["x"]])?.field == "data.intent")
    }

    @Test func escalatedToHumanMustBeBool() {
        #expect(error(["escalated_to_human": true]) == nil)
        #expect(error(["escalated_to_human": false]) == nil)
        #expect(error(["escalated_to_human": nil]) == nil)
        let expected = EventValidationError(
            field: "data.escalated_to_human", message: "must be a boolean (true or false)")
        #expect(error(["escalated_to_human": 1]) == expected)
        #expect(error(["escalated_to_human": "true"]) == expected)
    }

    @Test func accessors() {
        var event = minimalEvent()
        #expect(event.intent == nil)
        #expect(event.escalatedToHuman == false)
        event.data = ["intent": "refund", "escalated_to_human": true]
        #expect(event.intent == "refund")
        #expect(event.escalatedToHuman == true)
        event.data = ["intent": "", "escalated_to_human": 1]
        #expect(event.intent == nil)
        #expect(event.escalatedToHuman == false)
        event.data = ["intent": 3, "escalated_to_human": "true"]
        #expect(event.intent == nil)
        #expect(event.escalatedToHuman == false)
    }
}
