/// Byte- and scalar-level checks of string fields (no regular expressions).
enum FieldRules {
    /// Whether `byte` is in `[A-Za-z0-9._:@-]`.
    @inline(__always)
    static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Checks an id: 1–128 characters of `[A-Za-z0-9._:@-]`. Such ids can be
    /// embedded in Redis keys: no braces (hash tags), spaces or line breaks.
    static func checkID(_ value: String, field: String) throws(EventValidationError) {
        let utf8 = value.utf8
        if utf8.isEmpty {
            throw EventValidationError(field: field, message: "must not be empty")
        }
        // Scan at most maxIDLength + 1 bytes: a huge value is rejected quickly,
        // and a bad character within the first 129 bytes is reported precisely.
        var offset = 0
        for byte in utf8 {
            if offset > EventLimits.maxIDLength { break }
            if !isIDByte(byte) {
                throw EventValidationError(
                    field: field,
                    message: "contains \(describe(byte)) at offset \(offset); "
                        + "allowed characters are A-Z a-z 0-9 . _ : @ -")
            }
            offset += 1
        }
        // The scanned bytes are all ASCII, so bytes are characters here.
        if offset > EventLimits.maxIDLength {
            throw EventValidationError(
                field: field,
                message: "must be at most \(EventLimits.maxIDLength) characters (got \(value.unicodeScalars.count))")
        }
    }

    /// Checks a free-text value: at most `maxLength` Unicode scalars (as
    /// Python's `len`), no control characters (U+0000–U+001F, U+007F–U+009F),
    /// and, if `allowEmpty` is false, not empty.
    static func checkText(
        _ value: String, field: String, maxLength: Int, allowEmpty: Bool = true
    ) throws(EventValidationError) {
        if !allowEmpty && value.isEmpty {
            throw EventValidationError(field: field, message: "must not be empty")
        }
        var count = 0
        for scalar in value.unicodeScalars {
            if isControl(scalar.value) {
                throw EventValidationError(
                    field: field,
                    message: "must not contain control characters (found \(hexScalar(scalar.value)) "
                        + "at character \(count))")
            }
            count += 1
        }
        if count > maxLength {
            throw EventValidationError(
                field: field, message: "must be at most \(maxLength) characters (got \(count))")
        }
    }

    @inline(__always)
    static func isControl(_ value: UInt32) -> Bool {
        value < 0x20 || (value >= 0x7F && value <= 0x9F)
    }

    /// A readable rendering of a disallowed id byte.
    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x21...0x7E: return "disallowed character '\(Character(Unicode.Scalar(byte)))'"
        case 0x20: return "a space"
        case 0x0D: return "a carriage return (CR)"
        case 0x0A: return "a line feed (LF)"
        case 0x80...: return "a non-ASCII character"
        default: return "control character \(hexScalar(UInt32(byte)))"
        }
    }

    private static func hexScalar(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Quotes a value for an error message, cut to 64 characters.
    static func quoted(_ value: String) -> String {
        var scalars = String.UnicodeScalarView()
        var count = 0
        for scalar in value.unicodeScalars {
            if count == 64 {
                return "'" + String(scalars) + "…'"
            }
            scalars.append(isControl(scalar.value) ? "?" : scalar)
            count += 1
        }
        return "'" + String(scalars) + "'"
    }
}
