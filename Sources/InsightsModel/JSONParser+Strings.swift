extension JSONParser {
    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if ascii { return String(decoding: raw, as: UTF8.self) }
                return try validatedString(raw, offset: start)
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(start: start)
            }
            if byte < 0x20 { throw error("unescaped control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        throw error("unterminated string")
    }

    /// Continues a string at its first backslash, copying into a buffer.
    private mutating func parseEscapedString(start: Int) throws(JSONParseError) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(index - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try buffer.withUnsafeBufferPointer { (raw) throws(JSONParseError) -> String in
                    try validatedString(raw, offset: start)
                }
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(try parseUnicodeEscape(), to: &buffer)
                default:
                    index -= 1
                    throw error("invalid escape sequence")
                }
            case 0..<0x20:
                throw error("unescaped control character in string")
            default:
                buffer.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    /// Parses the `XXXX` of `\uXXXX` (and a following low surrogate escape).
    private mutating func parseUnicodeEscape() throws(JSONParseError) -> UInt32 {
        let first = try parseHex4()
        switch first {
        case 0xD800...0xDBFF:
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("unpaired surrogate in \\u escape") }
            index += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw error("unpaired surrogate in \\u escape") }
            return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        case 0xDC00...0xDFFF:
            throw error("unpaired surrogate in \\u escape")
        default:
            return first
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
        // Surrogates were rejected above, so `scalar` is a valid code point.
        switch scalar {
        case 0..<0x80:
            buffer.append(UInt8(scalar))
        case 0x80..<0x800:
            buffer.append(0xC0 | UInt8(scalar >> 6))
            buffer.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            buffer.append(0xE0 | UInt8(scalar >> 12))
            buffer.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            buffer.append(0x80 | UInt8(scalar & 0x3F))
        default:
            buffer.append(0xF0 | UInt8(scalar >> 18))
            buffer.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            buffer.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            buffer.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    private func validatedString(_ raw: UnsafeBufferPointer<UInt8>, offset: Int) throws(JSONParseError) -> String {
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw JSONParseError(message: "invalid UTF-8 in string", offset: offset)
        }
        return string
    }
}
