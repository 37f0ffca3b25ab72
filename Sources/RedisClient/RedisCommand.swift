/// One command as an argument vector of bytes, binary-safe.
///
/// Arguments are packed into one contiguous buffer so a command with a thousand
/// arguments costs two allocations, not a thousand.
public struct RedisCommand: Sendable, Equatable {
    private(set) var storage: [UInt8] = []
    private(set) var lengths: [Int] = []

    /// A command from its name and text arguments: `RedisCommand("HGET", "key", "field")`.
    public init(_ name: String, _ args: String...) {
        self.init(name, args)
    }

    /// A command from its name and text arguments.
    public init(_ name: String, _ args: [String]) {
        storage.reserveCapacity(name.utf8.count + args.reduce(0) { $0 + $1.utf8.count })
        lengths.reserveCapacity(args.count + 1)
        append(name)
        for a in args { append(a) }
    }

    /// Appends a text argument.
    public mutating func append(_ arg: String) {
        let before = storage.count
        storage.append(contentsOf: arg.utf8)
        lengths.append(storage.count - before)
    }

    /// Appends a binary argument.
    public mutating func append<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        storage.append(contentsOf: bytes)
        lengths.append(bytes.count)
    }

    /// Appends an integer argument in decimal.
    public mutating func append(_ arg: Int) { append(String(arg)) }

    /// Appends an integer argument in decimal.
    public mutating func append(_ arg: Int64) { append(String(arg)) }

    /// Number of arguments, the command name included.
    public var count: Int { lengths.count }

    /// The arguments as separate byte arrays (for tests and logs).
    public var arguments: [[UInt8]] {
        var out: [[UInt8]] = []
        var offset = 0
        for n in lengths {
            out.append(Array(storage[offset..<offset + n]))
            offset += n
        }
        return out
    }

    /// The command name, upper-cased.
    public var name: String {
        guard let n = lengths.first else { return "" }
        return String(decoding: storage[0..<n], as: UTF8.self).uppercased()
    }
}
