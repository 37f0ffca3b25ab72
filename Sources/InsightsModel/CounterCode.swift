/// The stored form of the bucket fields every event and session writes (docs/keys.md, *Field
/// codes*): a field's name is what the code, the docs and the answers use; a counter map stores a
/// short code instead, as the names were most of a map's bytes and the overview's Redis CPU is
/// mostly the bytes of its reply (docs/worker.md). A fixed field has a code of one or two
/// characters (an event type's count `E<type code>`); a named one (`intent:<name>`, `rt:<bin>`,
/// `drop:<point>`, `ch:<channel>`) a one-character prefix before its name. Every code begins with
/// a character no field name begins with (names begin with a lowercase letter), so a map written
/// before the codes, or one holding both forms, reads the same: ``name(_:)`` of a name is the
/// name. Fields of the counter families keep their names (`<f>/…`, read by a few endpoints only).
/// `lua/common.lua` (`FIELD`) lists the codes the scripts write themselves, `e2e/storage.py` the
/// whole table; `CounterCodeTests` checks that they agree with this one.
public enum CounterCode {
    /// Fixed fields as (name, code).
    public static let fixed: [(name: String, code: String)] = [
        ("events", "E"), ("messages", "M"), ("conversations", "C"), ("conv_msg", "V"), ("sess_msgs", "S"),
        ("rt_sum", "R"), ("rt_count", "N"), ("intents", "I"), ("conf_sum_u", "F"), ("conf_count", "K"),
        ("low_conf", "L"), ("escalations", "X"), ("tok_in", "T"), ("tok_out", "U"),
        ("out:sessions", "O"), ("out:ended", "OE"), ("out:dropped", "OD"), ("out:escalated", "OX"),
        ("out:automated", "OA"), ("out:turns", "OT"),
    ] + EventType.allCases.map { ("ev:" + $0.rawValue, "E\($0.code)") }

    /// Named fields as (name prefix, code prefix): the name or bin follows the code as it is.
    public static let prefixes: [(name: String, code: String)] = [
        ("intent:", "#"), ("rt:", "H"), ("drop:", "D"), ("ch:", "W"),
    ]

    static let codeOfName: [String: String] = Dictionary(uniqueKeysWithValues: fixed.map { ($0.name, $0.code) })
    static let nameOfCode: [String: String] = Dictionary(uniqueKeysWithValues: fixed.map { ($0.code, $0.name) })
    static let prefixOfCode: [UInt8: String] = Dictionary(uniqueKeysWithValues: prefixes.map { ($0.code.utf8.first!, $0.name) })

    /// The stored form of a field: its code, or the field itself (a family's field, a slice share).
    public static func code(_ field: String) -> String {
        if let c = codeOfName[field] { return c }
        for p in prefixes where field.hasPrefix(p.name) && field.utf8.count > p.name.utf8.count {
            return p.code + field.dropFirst(p.name.count)
        }
        return field
    }

    /// The field a stored key stands for: the name of a code, or the key itself.
    public static func name(_ stored: [UInt8]) -> String {
        guard let first = stored.first, !(97...122).contains(first) else { return String(decoding: stored, as: UTF8.self) }
        return name(String(decoding: stored, as: UTF8.self))
    }

    public static func name(_ stored: String) -> String {
        guard let first = stored.utf8.first, !(97...122).contains(first) else { return stored }
        if let n = nameOfCode[stored] { return n }
        if stored.utf8.count > 1, let p = prefixOfCode[first] { return p + stored.dropFirst() }
        return stored
    }
}
