/// The part of MessagePack (msgpack.org) that Insights stores: maps, arrays, byte strings, integers.
///
/// Counter buckets are msgpack maps written by the Lua scripts (`cmsgpack`, built into Redis), and a
/// compacted journey's header is a msgpack map written here and read back by those scripts
/// (docs/keys.md). Strings are raw bytes (ids may be binary), as `cmsgpack` treats them.
public enum MessagePack {
    public indirect enum Value: Sendable, Equatable {
        case int(Int64)
        case double(Double)
        case bytes([UInt8])
        case array([Value])
        case map([(key: [UInt8], value: Value)])
        case bool(Bool)
        case null

        public static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.int(let x), .int(let y)): return x == y
            case (.double(let x), .double(let y)): return x == y
            case (.bytes(let x), .bytes(let y)): return x == y
            case (.array(let x), .array(let y)): return x == y
            case (.map(let x), .map(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            case (.bool(let x), .bool(let y)): return x == y
            case (.null, .null): return true
            default: return false
            }
        }

        /// The integer value (a double with an integral value counts: cmsgpack writes large ones so).
        public var intValue: Int64? {
            switch self {
            case .int(let v): return v
            case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
            default: return nil
            }
        }

        public var bytesValue: [UInt8]? { if case .bytes(let b) = self { return b } else { return nil } }
        public var stringValue: String? { bytesValue.map { String(decoding: $0, as: UTF8.self) } }
        public var arrayValue: [Value]? { if case .array(let a) = self { return a } else { return nil } }
        public var mapValue: [(key: [UInt8], value: Value)]? { if case .map(let m) = self { return m } else { return nil } }

        /// The member `key` of a map.
        public subscript(_ key: String) -> Value? {
            let k = Array(key.utf8)
            return mapValue?.first { $0.key == k }?.value
        }
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "msgpack at byte \(offset): \(message)" }
    }

    // MARK: Writing

    public static func encode(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        write(value, to: &out)
        return out
    }

    public static func write(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(0xC0)
        case .bool(let b): out.append(b ? 0xC3 : 0xC2)
        case .int(let v): writeInt(v, to: &out)
        case .double(let d):
            out.append(0xCB)
            appendBigEndian(d.bitPattern, 8, to: &out)
        case .bytes(let b): writeString(b, to: &out)
        case .array(let a):
            writeHeader(count: a.count, fix: 0x90, c16: 0xDC, c32: 0xDD, to: &out)
            for v in a { write(v, to: &out) }
        case .map(let m):
            writeHeader(count: m.count, fix: 0x80, c16: 0xDE, c32: 0xDF, to: &out)
            for (k, v) in m {
                writeString(k, to: &out)
                write(v, to: &out)
            }
        }
    }

    static func writeInt(_ v: Int64, to out: inout [UInt8]) {
        if v >= 0 && v < 128 {
            out.append(UInt8(v))
        } else if v < 0 && v >= -32 {
            out.append(UInt8(bitPattern: Int8(v)))
        } else {
            out.append(0xD3)
            appendBigEndian(UInt64(bitPattern: v), 8, to: &out)
        }
    }

    /// A string (msgpack str family; cmsgpack reads any bytes into a Lua string).
    static func writeString(_ b: [UInt8], to out: inout [UInt8]) {
        if b.count < 32 {
            out.append(0xA0 | UInt8(b.count))
        } else if b.count < 256 {
            out.append(0xD9)
            out.append(UInt8(b.count))
        } else if b.count < 65536 {
            out.append(0xDA)
            appendBigEndian(UInt64(b.count), 2, to: &out)
        } else {
            out.append(0xDB)
            appendBigEndian(UInt64(b.count), 4, to: &out)
        }
        out.append(contentsOf: b)
    }

    static func writeHeader(count: Int, fix: UInt8, c16: UInt8, c32: UInt8, to out: inout [UInt8]) {
        if count < 16 {
            out.append(fix | UInt8(count))
        } else if count < 65536 {
            out.append(c16)
            appendBigEndian(UInt64(count), 2, to: &out)
        } else {
            out.append(c32)
            appendBigEndian(UInt64(count), 4, to: &out)
        }
    }

    static func appendBigEndian(_ v: UInt64, _ n: Int, to out: inout [UInt8]) {
        for i in stride(from: n - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    // MARK: Reading

    /// Decodes one value that must fill `bytes` exactly.
    public static func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) -> Value {
        var r = Reader(bytes: Array(bytes))
        let v = try r.value(depth: 0)
        guard r.pos == r.bytes.count else { throw DecodingError(offset: r.pos, message: "trailing bytes") }
        return v
    }

    struct Reader {
        let bytes: [UInt8]
        var pos = 0

        mutating func byte() throws(DecodingError) -> UInt8 {
            guard pos < bytes.count else { throw DecodingError(offset: pos, message: "truncated") }
            defer { pos += 1 }
            return bytes[pos]
        }

        mutating func big(_ n: Int) throws(DecodingError) -> UInt64 {
            guard pos + n <= bytes.count else { throw DecodingError(offset: pos, message: "truncated") }
            var v: UInt64 = 0
            for i in 0..<n { v = v << 8 | UInt64(bytes[pos + i]) }
            pos += n
            return v
        }

        mutating func raw(_ n: Int) throws(DecodingError) -> [UInt8] {
            guard n >= 0, pos + n <= bytes.count else { throw DecodingError(offset: pos, message: "truncated") }
            defer { pos += n }
            return Array(bytes[pos..<pos + n])
        }

        mutating func value(depth: Int) throws(DecodingError) -> Value {
            guard depth < 64 else { throw DecodingError(offset: pos, message: "nested too deeply") }
            let start = pos
            let b = try byte()
            switch b {
            case 0x00...0x7F: return .int(Int64(b))
            case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: b)))
            case 0x80...0x8F: return try map(Int(b & 0x0F), depth)
            case 0x90...0x9F: return try array(Int(b & 0x0F), depth)
            case 0xA0...0xBF: return .bytes(try raw(Int(b & 0x1F)))
            case 0xC0: return .null
            case 0xC2: return .bool(false)
            case 0xC3: return .bool(true)
            case 0xC4, 0xD9: return .bytes(try raw(Int(try big(1))))
            case 0xC5, 0xDA: return .bytes(try raw(Int(try big(2))))
            case 0xC6, 0xDB: return .bytes(try raw(Int(try big(4))))
            case 0xCA: return .double(Double(Float(bitPattern: UInt32(try big(4)))))
            case 0xCB: return .double(Double(bitPattern: try big(8)))
            case 0xCC: return .int(Int64(try big(1)))
            case 0xCD: return .int(Int64(try big(2)))
            case 0xCE: return .int(Int64(try big(4)))
            case 0xCF:
                let v = try big(8)
                guard v <= UInt64(Int64.max) else { throw DecodingError(offset: start, message: "integer out of range") }
                return .int(Int64(v))
            case 0xD0: return .int(Int64(Int8(truncatingIfNeeded: try big(1))))
            case 0xD1: return .int(Int64(Int16(truncatingIfNeeded: try big(2))))
            case 0xD2: return .int(Int64(Int32(truncatingIfNeeded: try big(4))))
            case 0xD3: return .int(Int64(bitPattern: try big(8)))
            case 0xDC: return try array(Int(try big(2)), depth)
            case 0xDD: return try array(Int(try big(4)), depth)
            case 0xDE: return try map(Int(try big(2)), depth)
            case 0xDF: return try map(Int(try big(4)), depth)
            default: throw DecodingError(offset: start, message: "unsupported type byte \(b)")
            }
        }

        mutating func array(_ n: Int, _ depth: Int) throws(DecodingError) -> Value {
            guard n <= bytes.count - pos else { throw DecodingError(offset: pos, message: "truncated") }
            var out: [Value] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try value(depth: depth + 1)) }
            return .array(out)
        }

        mutating func map(_ n: Int, _ depth: Int) throws(DecodingError) -> Value {
            guard n <= bytes.count - pos else { throw DecodingError(offset: pos, message: "truncated") }
            var out: [(key: [UInt8], value: Value)] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                let keyAt = pos
                guard case .bytes(let k) = try value(depth: depth + 1) else {
                    throw DecodingError(offset: keyAt, message: "map key is not a string")
                }
                out.append((k, try value(depth: depth + 1)))
            }
            return .map(out)
        }
    }
}
