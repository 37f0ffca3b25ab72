import Crypto

/// SHA-256 of API keys (swift-crypto): the service keeps only digests in memory.
public enum KeyDigest {
    /// The 32-byte SHA-256 digest of `bytes`.
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(bytes)))
    }

    /// The digest of the UTF-8 bytes of `text`, as 64 lowercase hex digits.
    public static func hex(_ text: String) -> String { hex(digest(Array(text.utf8))) }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.encode(bytes) }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    /// true if `a` and `b` are equal; for equal lengths the time does not depend on their bytes
    /// (swift-crypto compares `SymmetricKey`s in constant time). Digests are always 32 bytes, so
    /// the early length check leaks nothing.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return SymmetricKey(data: a) == SymmetricKey(data: b)
    }
}
