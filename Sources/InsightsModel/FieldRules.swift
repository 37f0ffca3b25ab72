/// Byte- and scalar-level checks of string fields (no regular expressions).
public enum FieldRules {
    /// Checks an id (``IdentifierRule``): such ids can be embedded in Redis keys.
    static func checkID(_ value: String, field: String) throws(EventValidationError) {
        try IdentifierRule.check(value, field: field)
    }

    /// Checks a free-text value: at most `maxLength` Unicode scalars (as
    /// Python's `len`), no control characters (U+0000–U+001F, U+007F–U+009F),
    /// and, if `allowEmpty` is false, not empty.
    public static func checkText(
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

    static func hexScalar(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Quotes a value for an error message, cut to 64 characters.
    public static func quoted(_ value: String) -> String {
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
