import Foundation
import InsightsModel
import Testing

@Suite struct JSONValueTests {
    @Test func decodesBooleansAsBoolNotNumber() throws {
        let value = try jsonValue(#"{"t": true, "f": false, "one": 1, "zero": 0, "n": null}"#)
        #expect(value["t"] == .bool(true))
        #expect(value["f"] == .bool(false))
        #expect(value["one"] == .number(1))
        #expect(value["zero"] == .number(0))
        #expect(value["n"] == .null)
        #expect(value["t"] != value["one"])
        #expect(value["one"]?.boolValue == nil)
        #expect(value["t"]?.doubleValue == nil)
        #expect(value["t"]?.boolValue == true)
    }

    @Test func decodesAllKinds() throws {
        let value = try jsonValue(#"[1.5, -2, "x\ny", [], {}, {"a": [null]}]"#)
        #expect(value == .array([.number(1.5), .number(-2), .string("x\ny"), .array([]), .object([:]),
                                 .object(["a": .array([.null])])]))
        #expect(value[0]?.doubleValue == 1.5)
        #expect(value[1]?.intValue == -2)
        #expect(value[0]?.intValue == nil)
        #expect(value[2]?.stringValue == "x\ny")
        #expect(value[5]?["a"]?[0]?.isNull == true)
        #expect(value[6] == nil)
        #expect(value["a"] == nil)
    }

    @Test func compactEncodingIsDeterministicWithSortedKeys() {
        let value: JSONValue = ["b": 1, "a": [true, nil, 2.5], "c": ["z": "q", "y": -0.0]]
        #expect(value.compactJSONString == #"{"a":[true,null,2.5],"b":1,"c":{"y":0,"z":"q"}}"#)
        #expect(value.compactJSONByteCount == value.compactJSONBytes.count)
    }

    @Test func compactEncodingEscapesStrings() {
        let value: JSONValue = .string("q\"b\\s/n\nr\rt\tu\u{01}é😀")
        #expect(value.compactJSONString == #""q\"b\\s/n\nr\rt\tu\u0001é😀""#)
        #expect(value.compactJSONByteCount == value.compactJSONBytes.count)
    }

    @Test func numbersEncodeShortestAndNonFiniteAsNull() {
        #expect(JSONValue.number(42).compactJSONString == "42")
        #expect(JSONValue.number(0.1).compactJSONString == "0.1")
        #expect(JSONValue.number(-3.25).compactJSONString == "-3.25")
        #expect(JSONValue.number(1e20).compactJSONString == "1e+20")
        #expect(JSONValue.number(.nan).compactJSONString == "null")
        #expect(JSONValue.number(.infinity).compactJSONString == "null")
    }

    @Test func compactEncodingParsesBackToTheSameValue() throws {
        let value: JSONValue = [
            "s": "a\"b\u{7}", "n": 0.30000000000000004, "big": 12345678901234, "neg": -1e-7,
            "arr": [[], [[]], ["k": false]], "nil": nil,
        ]
        #expect(try jsonValue(value.compactJSONString) == value)
    }

    @Test func codableRoundTripThroughJSONEncoder() throws {
        let value: JSONValue = ["x": [1, "two", true, nil], "y": ["z": 2.5]]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(value)
        #expect(String(decoding: data, as: UTF8.self) == #"{"x":[1,"two",true,null],"y":{"z":2.5}}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }

    @Test func nestingDepth() {
        #expect(JSONValue.string("x").nestingDepth == 0)
        #expect(JSONValue.object([:]).nestingDepth == 1)
        let value: JSONValue = ["a": ["b": [1]], "c": 1]
        #expect(value.nestingDepth == 3)
        #expect(value.nestingDepthExceeds(2))
        #expect(!value.nestingDepthExceeds(3))
    }

    @Test func literalsBuildTheExpectedCases() {
        let value: JSONValue = ["k": [1, 2.5, "s", true, nil]]
        #expect(value == .object(["k": .array([.number(1), .number(2.5), .string("s"), .bool(true), .null])]))
        #expect(value.objectValue?.count == 1)
        #expect(value["k"]?.arrayValue?.count == 5)
    }
}
