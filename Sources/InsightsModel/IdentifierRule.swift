/// The one rule for every id that can end up in a Redis key name — agent, session, event and
/// user ids (docs/keys.md): 1 to 128 characters of `[A-Za-z0-9._:@-]`. No braces (an id can never
/// change a key's `{agent}` hash tag), no spaces, no line breaks.
///
/// Ingest, the worker, the read endpoints and API-key configuration all use this type;
/// `lua/common.lua` (`valid_id`) states the same rule for the scripts, and the OpenAPI document's
/// `pattern` / `maxLength` for agent and session ids are checked against ``pattern`` and
/// ``maxLength`` by a test.
public enum IdentifierRule {
    /// The longest id, in characters (= bytes: the alphabet is ASCII).
    public static let maxLength = EventLimits.maxIDLength
    /// The rule as a regular expression (JSON Schema `pattern`, anchored).
    public static let pattern = "^[A-Za-z0-9._:@-]+$"
    /// The allowed characters, for messages.
    public static let alphabet = "A-Z a-z 0-9 . _ : @ -"

    /// Whether `byte` is one of the allowed characters.
    @inline(__always)
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Whether `value` is a valid id.
    public static func isValid(_ value: some StringProtocol) -> Bool {
        var count = 0
        for byte in value.utf8 {
            count += 1
            if count > maxLength || !isAllowed(byte) { return false }
        }
        return count > 0
    }

    /// Throws a precise error naming `field` (the JSON or query parameter name) if `value` is not a valid id.
    public static func check(_ value: String, field: String) throws(EventValidationError) {
        let utf8 = value.utf8
        if utf8.isEmpty {
            throw EventValidationError(field: field, message: "must not be empty")
        }
        // Scan at most maxLength + 1 bytes: a huge value is rejected quickly, and a bad
        // character within the first 129 bytes is reported precisely.
        var offset = 0
        for byte in utf8 {
            if offset > maxLength { break }
            if !isAllowed(byte) {
                throw EventValidationError(
                    field: field,
                    message: "contains \(describe(byte)) at offset \(offset); allowed characters are \(alphabet)")
            }
            offset += 1
        }
        // The scanned bytes are all ASCII, so bytes are characters here.
        if offset > maxLength {
            throw EventValidationError(
                field: field,
                message: "must be at most \(maxLength) characters (got \(value.unicodeScalars.count))")
        }
    }

    /// A readable rendering of a disallowed byte.
    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x21...0x7E: return "disallowed character '\(Character(Unicode.Scalar(byte)))'"
        case 0x20: return "a space"
        case 0x0D: return "a carriage return (CR)"
        case 0x0A: return "a line feed (LF)"
        case 0x80...: return "a non-ASCII character"
        default: return "control character \(FieldRules.hexScalar(UInt32(byte)))"
        }
    }
}
