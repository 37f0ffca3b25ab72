import Foundation
import InsightsModel
import Testing

@Suite struct JSONParserTests {
    @Test func parsesScalarsAndContainers() throws {
        #expect(try JSONValue.parse(" true ") == .bool(true))
        #expect(try JSONValue.parse("false") == .bool(false))
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("1") == .number(1))
        #expect(try JSONValue.parse("1") != .bool(true))
        #expect(try JSONValue.parse("-0.5e2") == .number(-50))
        #expect(try JSONValue.parse("12345678901234567890") == .number(Double("12345678901234567890")!))
        #expect(try JSONValue.parse("0.1") == .number(0.1))
        #expect(try JSONValue.parse("1E-2") == .number(0.01))
        #expect(try JSONValue.parse("\u{FEFF}[]") == .array([]))
        #expect(try JSONValue.parse("\t{ \"a\" :\n[ 1 , {} ] }\r\n") == ["a": [1, [:]]])
        #expect(try JSONValue.parse(#"{"a": 1, "a": 2}"#) == ["a": 2])  // last duplicate wins
    }

    @Test func parsesStringEscapes() throws {
        #expect(try JSONValue.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(try JSONValue.parse(#""\u00e9\u20AC\ud83d\ude00\u0000""#) == .string("é€😀\u{0}"))
        #expect(try JSONValue.parse(#""plain é 😀""#) == .string("plain é 😀"))
        #expect(try JSONValue.parse(#""é\n😀""#) == .string("é\n😀"))
    }

    @Test(arguments: [
        ("", "unexpected end of input", 0),
        ("[1,]", "unexpected character ']'", 3),
        ("{\"a\":1,}", "expected a string key", 7),
        ("{\"a\" 1}", "unexpected character '1'", 5),
        ("{a:1}", "expected a string key", 1),
        ("[1 2]", "unexpected character '2'", 3),
        ("tru", "invalid literal", 0),
        ("nul", "invalid literal", 0),
        ("True", "unexpected character 'T'", 0),
        ("NaN", "unexpected character 'N'", 0),
        ("-", "invalid number", 1),
        ("01", "leading zeros are not allowed", 1),
        ("1.", "invalid number", 2),
        (".5", "unexpected character '.'", 0),
        ("1e", "invalid number", 2),
        ("+1", "unexpected character '+'", 0),
        ("1e400", "number out of range", 0),
        ("\"abc", "unterminated string", 4),
        ("\"a\nb\"", "unescaped control character in string", 2),
        (#""\x""#, "invalid escape sequence", 2),
        (#""\u12G4""#, #"invalid \u escape"#, 5),
        (#""\ud83d""#, #"unpaired surrogate in \u escape"#, 7),
        (#""\ude00""#, #"unpaired surrogate in \u escape"#, 7),
        (#""\ud83d\u0041""#, #"unpaired surrogate in \u escape"#, 13),
        ("[] []", "unexpected data after the JSON value", 3),
        ("[1] x", "unexpected data after the JSON value", 4),
        ("// c\n1", "unexpected character '/'", 0),
    ])
    func rejectsInvalidJSON(text: String, message: String, offset: Int) {
        #expect(throws: JSONParseError(message: message, offset: offset)) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0x61, 0xC3, 0x28, 0x22]  // "a\xC3(" : truncated sequence
        #expect(throws: JSONParseError(message: "invalid UTF-8 in string", offset: 1)) {
            try JSONValue.parse(Data(bytes))
        }
        let escaped: [UInt8] = [0x22, 0x5C, 0x6E, 0xFF, 0x22]  // "\n\xFF"
        #expect(throws: JSONParseError(message: "invalid UTF-8 in string", offset: 1)) {
            try JSONValue.parse(Data(escaped))
        }
    }

    @Test func enforcesTheNestingLimit() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONValue.parse(ok).nestingDepth == 128)
        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONParseError(message: "nesting deeper than 128 levels", offset: 128)) {
            try JSONValue.parse(tooDeep)
        }
        // A hostile body far deeper than the limit fails fast instead of overflowing the stack.
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "{\"a\":", count: 1_000_000)) }
        #expect(throws: JSONParseError(message: "nesting deeper than 2 levels", offset: 10)) {
            try JSONValue.parse(#"{"a":{"b":[]}}"#, maxDepth: 2)
        }
    }

    @Test func agreesWithJSONDecoderOnRandomDocuments() throws {
        var rng = SplitMix64(seed: 0x1A5E_ED)
        let encoder = JSONEncoder()
        for _ in 0..<300 {
            let value = randomValue(depth: 0, using: &rng)
            let viaCompact = try JSONValue.parse(value.compactJSONString)
            #expect(viaCompact == value)
            // JSONEncoder writes differently (escaped "/", other number forms).
            let foreign = try encoder.encode(value)
            #expect(try JSONValue.parse(foreign) == JSONDecoder().decode(JSONValue.self, from: foreign))
        }
    }
}

/// A small deterministic generator for reproducible random documents.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomValue(depth: Int, using rng: inout SplitMix64) -> JSONValue {
    let pick = Int.random(in: 0..<(depth < 4 ? 8 : 5), using: &rng)
    switch pick {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)))
    case 3: return .number(Double.random(in: -1e6...1e6, using: &rng) * pow(10, Double(Int.random(in: -30...30, using: &rng))))
    case 4: return .string(randomString(using: &rng))
    case 5, 6:
        var members: [String: JSONValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            members[randomString(using: &rng)] = randomValue(depth: depth + 1, using: &rng)
        }
        return .object(members)
    default:
        return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth: depth + 1, using: &rng) })
    }
}

func randomString(using rng: inout SplitMix64) -> String {
    let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7F}", "é", "€", "😀", "\u{2028}"]
    return String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
}
