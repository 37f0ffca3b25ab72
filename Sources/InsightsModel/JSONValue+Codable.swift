extension JSONValue: Codable {
    /// Decodes any JSON value. Booleans decode as `.bool`, never as `.number`
    /// (the decoder's `Bool` and `Double` requests are distinct).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let object = try? container.decode([String: JSONValue].self) {
            self = .object(object)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "value is not a JSON value")
        }
    }

    /// Encodes the value. Object members are encoded in sorted key order; use
    /// ``compactJSONBytes`` (or `JSONEncoder` with `.sortedKeys`) when the
    /// exact byte sequence must be deterministic.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let value):
            var container = encoder.singleValueContainer()
            if value.isFinite {
                try container.encode(value)
            } else {
                try container.encodeNil()  // JSON has no NaN / Infinity
            }
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements {
                try container.encode(element)
            }
        case .object(let members):
            var container = encoder.container(keyedBy: AnyKey.self)
            for key in members.keys.sorted() {
                try container.encode(members[key]!, forKey: AnyKey(key))
            }
        }
    }
}

/// A coding key for arbitrary object member names.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
