/// A Redis Cluster hash slot, 0 ..< 16384: CRC16 (XMODEM) of the key, or of its hash tag, mod 16384.
///
/// The rule is the cluster specification's: when the key holds a `{`, and a `}` follows it with at
/// least one byte between them, only the bytes between the first `{` and the first `}` after it are
/// hashed. So every key `ins:{acme}:…` has the slot of `acme`.
public struct HashSlot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The number of slots of a cluster.
    public static let count = 16384

    public let rawValue: UInt16

    public init?(rawValue: Int) {
        guard (0..<Self.count).contains(rawValue) else { return nil }
        self.rawValue = UInt16(rawValue)
    }

    /// The slot of a key.
    public init<Key: Collection>(key: Key) where Key.Element == UInt8 {
        var hashed = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                hashed = key[afterOpen..<close]
            }
        }
        rawValue = Self.crc16(hashed) & UInt16(Self.count - 1)
    }

    /// The slot of a key.
    public init(key: String) { self.init(key: key.utf8) }

    public var description: String { String(rawValue) }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
    static func crc16<Bytes: Collection>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { value in
        var crc = UInt16(value) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
