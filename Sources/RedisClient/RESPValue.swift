/// A reply from Redis, copied out of hiredis' reply tree into Swift values.
///
/// Covers every RESP2 type hiredis 0.14 produces: status (simple string),
/// error, integer, bulk string, null and array.
public enum RESPValue: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    indirect case array([RESPValue])

    /// The value as text: status and bulk strings (UTF-8 decoded), integers in decimal.
    public var string: String? {
        switch self {
        case .status(let s): return s
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    /// The value as an integer: integers, and bulk/status strings that parse as one.
    public var int: Int? {
        switch self {
        case .integer(let i): return i
        case .bulk, .status: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The value as a floating-point number (bulk strings such as `HINCRBYFLOAT` replies).
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .bulk, .status: return string.flatMap { Double($0) }
        default: return nil
        }
    }

    /// The raw bytes of a bulk or status string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// True for the null bulk string / null array.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Returns `self`, or throws the error reply as a ``RedisCommandError``.
    @discardableResult
    public func get() throws(RedisCommandError) -> RESPValue {
        if case .error(let message) = self { throw RedisCommandError(message: message) }
        return self
    }

    /// An array reply of field/value pairs (HGETALL) as a dictionary.
    public var fieldValues: [String: String]? {
        guard let items = array else { return nil }
        var result: [String: String] = [:]
        result.reserveCapacity(items.count / 2)
        var i = 0
        while i + 1 < items.count {
            if let k = items[i].string, let v = items[i + 1].string { result[k] = v }
            i += 2
        }
        return result
    }
}
