/// How an event id is stored: as a field of its session's hash (the de-dup set) and inside journey
/// records. A lowercase canonical UUID (what the tracker and most SDKs send) takes 17 bytes instead
/// of 36: the byte 0x01 and its 16 bytes; any other id is `#` followed by the id. Neither 0x01 nor
/// `#` is in the id alphabet (``IdentifierRule``), so the two forms never collide with each other or
/// with the session hash's own fields (docs/keys.md). Exact: the stored form decodes to the same id.
public enum StoredEventID {
    static let uuidMarker: UInt8 = 0x01
    static let textMarker = UInt8(ascii: "#")

    /// The stored form of `id`.
    public static func field(_ id: String) -> [UInt8] {
        if let bytes = uuidBytes(id) { return [uuidMarker] + bytes }
        return [textMarker] + Array(id.utf8)
    }

    /// The id a stored form stands for, nil if it is not one.
    public static func id(_ field: some Collection<UInt8>) -> String? {
        guard let first = field.first else { return nil }
        let rest = field.dropFirst()
        if first == textMarker { return rest.isEmpty ? nil : String(decoding: rest, as: UTF8.self) }
        guard first == uuidMarker, rest.count == 16 else { return nil }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in rest.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a session-hash field is an event id (not one of the session's own fields).
    public static func isIDField(_ field: some Collection<UInt8>) -> Bool {
        field.first == uuidMarker || field.first == textMarker
    }

    /// The 16 bytes of `8-4-4-4-12` lowercase hex, nil for anything else (an uppercase UUID is a
    /// different id and keeps its text form).
    static func uuidBytes(_ id: String) -> [UInt8]? {
        let u = id.utf8
        guard u.count == 36 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}
