/// A destination for JSON bytes: a growing buffer, or a counter that only
/// measures the size.
protocol JSONSink {
    mutating func write(_ byte: UInt8)
    mutating func write(_ bytes: String.UTF8View)
}

/// Collects the encoded bytes.
struct ByteSink: JSONSink {
    var bytes: [UInt8] = []
    mutating func write(_ byte: UInt8) { bytes.append(byte) }
    mutating func write(_ utf8: String.UTF8View) { bytes.append(contentsOf: utf8) }
}

/// Counts the encoded bytes without storing them.
struct CountingSink: JSONSink {
    var count = 0
    mutating func write(_ byte: UInt8) { count += 1 }
    mutating func write(_ utf8: String.UTF8View) { count += utf8.count }
}

/// The compact, deterministic JSON writer used for event encoding and for
/// measuring ``AnalyticsEvent/data``: no whitespace, object keys sorted
/// (by Swift `String` order), `/` not escaped, control characters escaped,
/// integral numbers of magnitude below 2^53 written without a fraction,
/// non-finite numbers written as `null`.
enum JSONWriter {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeValue<S: JSONSink>(_ value: JSONValue, to sink: inout S) {
        switch value {
        case .null:
            sink.write("null".utf8)
        case .bool(let flag):
            sink.write((flag ? "true" : "false").utf8)
        case .number(let number):
            writeNumber(number, to: &sink)
        case .string(let string):
            writeString(string, to: &sink)
        case .array(let elements):
            sink.write(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { sink.write(UInt8(ascii: ",")) }
                first = false
                writeValue(element, to: &sink)
            }
            sink.write(UInt8(ascii: "]"))
        case .object(let members):
            writeObject(members, to: &sink)
        }
    }

    static func writeObject<S: JSONSink>(_ members: [String: JSONValue], to sink: inout S) {
        sink.write(UInt8(ascii: "{"))
        var first = true
        for key in members.keys.sorted() {
            if !first { sink.write(UInt8(ascii: ",")) }
            first = false
            writeString(key, to: &sink)
            sink.write(UInt8(ascii: ":"))
            writeValue(members[key]!, to: &sink)
        }
        sink.write(UInt8(ascii: "}"))
    }

    static func writeNumber<S: JSONSink>(_ number: Double, to sink: inout S) {
        guard number.isFinite else {
            sink.write("null".utf8)
            return
        }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            // Exact integer: "42", not "42.0" (and -0.0 becomes "0").
            sink.write(String(Int64(number)).utf8)
        } else {
            // Shortest representation that round-trips, e.g. "0.93", "1e-05".
            sink.write(number.description.utf8)
        }
    }

    static func writeInt<S: JSONSink>(_ number: Int, to sink: inout S) {
        sink.write(String(number).utf8)
    }

    static func writeString<S: JSONSink>(_ string: String, to sink: inout S) {
        sink.write(UInt8(ascii: "\""))
        // Fast path: nothing to escape (the common case for ids and names).
        var needsEscape = false
        for byte in string.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscape = true
            break
        }
        if !needsEscape {
            sink.write(string.utf8)
        } else {
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""): sink.write("\\\"".utf8)
                case UInt8(ascii: "\\"): sink.write("\\\\".utf8)
                case 0x0A: sink.write("\\n".utf8)
                case 0x0D: sink.write("\\r".utf8)
                case 0x09: sink.write("\\t".utf8)
                case 0x08: sink.write("\\b".utf8)
                case 0x0C: sink.write("\\f".utf8)
                case 0..<0x20:
                    sink.write("\\u00".utf8)
                    sink.write(hex[Int(byte >> 4)])
                    sink.write(hex[Int(byte & 0x0F)])
                default:
                    sink.write(byte)
                }
            }
        }
        sink.write(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The compact, deterministic JSON encoding (UTF-8): no whitespace, object
    /// keys sorted, non-finite numbers as `null`.
    public var compactJSONBytes: [UInt8] {
        var sink = ByteSink()
        JSONWriter.writeValue(self, to: &sink)
        return sink.bytes
    }

    /// ``compactJSONBytes`` as a `String`.
    public var compactJSONString: String {
        String(decoding: compactJSONBytes, as: UTF8.self)
    }

    /// The length in bytes of ``compactJSONBytes``, computed without building it.
    public var compactJSONByteCount: Int {
        var sink = CountingSink()
        JSONWriter.writeValue(self, to: &sink)
        return sink.count
    }
}
