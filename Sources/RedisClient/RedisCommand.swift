/// One command as an argument vector of bytes, binary-safe, that knows which of its arguments are keys.
///
/// Arguments are packed into one contiguous buffer so a command with a thousand
/// arguments costs two allocations, not a thousand. Keys are appended with ``append(key:)`` (or
/// given to ``init(_:key:_:)`` / ``init(_:keys:_:)``): the command then carries their hash slot, which
/// is how ``RedisClient`` routes it on a Redis Cluster. A command whose keys hash to different slots
/// is refused before it is sent, on a plain Redis too (``checkSingleSlot()``), so a call that could
/// not run on a cluster fails in every test. Commands without keys (`PING`, `TIME`, `SCRIPT LOAD`)
/// may go to any node.
public struct RedisCommand: Sendable, Equatable {
    private(set) var storage: [UInt8] = []
    private(set) var lengths: [Int] = []
    /// The slot of the first key; nil when the command has no key argument.
    public private(set) var slot: HashSlot?
    /// The slot of a later key that differs from ``slot``, if any.
    private var conflictingSlot: HashSlot?

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

    /// A command whose first argument is a key: `RedisCommand("HGET", key: k, "field")`.
    public init(_ name: String, key: String, _ args: String...) {
        self.init(name)
        append(key: key)
        for a in args { append(a) }
    }

    /// A command with a subcommand whose first argument is a key: `RedisCommand("XINFO", "GROUPS", key: k)`.
    public init(_ name: String, _ subcommand: String, key: String, _ args: String...) {
        self.init(name, subcommand)
        append(key: key)
        for a in args { append(a) }
    }

    /// A command whose first arguments are keys, then text arguments: `RedisCommand("MGET", keys: ks)`.
    public init(_ name: String, keys: [String], _ args: [String] = []) {
        self.init(name)
        for k in keys { append(key: k) }
        for a in args { append(a) }
    }

    /// Appends a key argument: routed by its hash slot (``HashSlot``).
    public mutating func append(key: String) {
        append(key)
        let keySlot = HashSlot(key: key)
        if let slot {
            if keySlot != slot, conflictingSlot == nil { conflictingSlot = keySlot }
        } else {
            slot = keySlot
        }
    }

    /// Throws when the keys of this command hash to different slots: a cluster refuses such a
    /// command (`CROSSSLOT`), so it is refused here, before it is sent, whatever Redis runs.
    public func checkSingleSlot() throws(RedisCommandError) {
        if let slot, let conflictingSlot {
            throw RedisCommandError(
                message: "CROSSSLOT \(name) has keys in slots \(slot) and \(conflictingSlot) (keys of one call must share a hash tag)")
        }
    }

    /// The same command with its first `dropping` arguments replaced by `head` (routing kept):
    /// how `EVALSHA sha …` becomes `EVAL source …`.
    func replacingHead(with head: [String], dropping: Int) -> RedisCommand {
        var command = RedisCommand(head[0], Array(head.dropFirst()))
        for argument in arguments.dropFirst(dropping) { command.append(bytes: argument) }
        command.slot = slot
        command.conflictingSlot = conflictingSlot
        return command
    }

    /// The same command routed to `other`'s slot (`MULTI` and `EXEC` go where their commands go).
    func routed(like other: RedisCommand) -> RedisCommand {
        var command = self
        command.slot = other.slot
        return command
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

    /// `EVALSHA` or `EVAL`.
    var isScriptCall: Bool {
        guard let n = lengths.first, n == 4 || n == 7 else { return false }
        let name = String(decoding: storage[0..<n], as: UTF8.self).uppercased()
        return name == "EVAL" || name == "EVALSHA"
    }

    /// The command name, upper-cased.
    public var name: String {
        guard let n = lengths.first else { return "" }
        return String(decoding: storage[0..<n], as: UTF8.self).uppercased()
    }
}
