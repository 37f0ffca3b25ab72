/// A JSON value: the free-form payload type of ``AnalyticsEvent/data``.
///
/// Numbers are stored as `Double` (as in JSON itself). Booleans are a separate
/// case, so JSON `true` and `1` never compare equal.
public indirect enum JSONValue: Sendable, Equatable, Hashable {
    /// JSON `null`.
    case null
    /// JSON `true` / `false`.
    case bool(Bool)
    /// A JSON number.
    case number(Double)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([JSONValue])
    /// A JSON object.
    case object([String: JSONValue])
}

extension JSONValue {
    /// The member `key` of an object, or `nil` if this is not an object or has
    /// no such member.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array, or `nil` if this is not an array or
    /// the index is out of bounds.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) {
            return elements[index]
        }
        return nil
    }

    /// The string, if this is `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is `.bool` (a number is never a boolean).
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number, if this is `.number`.
    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, if this is `.number` holding an integral value
    /// that fits in `Int`.
    public var intValue: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    /// The elements, if this is `.array`.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is `.object`.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The nesting depth: 0 for a scalar, 1 for an empty or flat array/object,
    /// and one more for each level of containers inside.
    public var nestingDepth: Int {
        switch self {
        case .null, .bool, .number, .string:
            return 0
        case .array(let elements):
            return 1 + (elements.lazy.map(\.nestingDepth).max() ?? 0)
        case .object(let members):
            return 1 + (members.values.lazy.map(\.nestingDepth).max() ?? 0)
        }
    }

    /// Whether the nesting depth exceeds `limit`. Unlike ``nestingDepth`` this
    /// stops descending after `limit + 1` levels, so it is safe on hostile input.
    public func nestingDepthExceeds(_ limit: Int) -> Bool {
        switch self {
        case .null, .bool, .number, .string:
            return limit < 0
        case .array(let elements):
            if limit < 1 { return true }
            return elements.contains { $0.nestingDepthExceeds(limit - 1) }
        case .object(let members):
            if limit < 1 { return true }
            return members.values.contains { $0.nestingDepthExceeds(limit - 1) }
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal is `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal is `.number`.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A float literal is `.number`.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal is `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal is `.array`.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal is `.object` (a later duplicate key wins).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
