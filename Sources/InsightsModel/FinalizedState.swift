/// A finalized session's state: the `st` field of `P s:<sid>` and of a compacted session's header,
/// a MessagePack array packed by `lua/worker_lib.lua` (`pack_state`, where its layout and versions
/// are defined). Swift reads it to leave derivable fields out of a compacted header
/// (``CompactJourney``) and, in tests, to show it by name; the scripts are what count with it.
public struct FinalizedState: Sendable, Equatable {
    /// The first and last event times (ms).
    public var first: Int64
    public var last: Int64
    /// The breakdown values it was counted under (`dm`), nil if none or not kept (15 items).
    public var dimensions: [UInt8]?
    /// The packed items as stored.
    public var items: [MessagePack.Value]

    /// The names of ``named``, in the order of the states of 15 and 20 items.
    public static let fields = ["first", "last", "turns", "li", "lit", "esc", "end", "wfs", "wfc", "wff",
                                "fs", "fo", "fd", "fe", "ft"]

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { "finalized state: \(message)" }
    }

    /// Version 4 (14 items, the last 4); 3 (21 items, the last 3); else 20 or 15 items.
    var isVersion4: Bool { items.count == 14 && items[13].intValue == 4 }

    public static func decode(_ packed: some Collection<UInt8>) throws(DecodingError) -> FinalizedState {
        let value: MessagePack.Value
        do { value = try MessagePack.decode(packed) } catch { throw DecodingError(message: error.description) }
        guard let a = value.arrayValue, a.count >= 14 else { throw DecodingError(message: "not an array of 14 items or more") }
        let f = a[0].intValue ?? 0, second = a[1].intValue ?? 0
        if a.count == 14 && a[13].intValue == 4 {
            return FinalizedState(first: f, last: f + second, dimensions: a[12].bytesValue, items: a)
        }
        let relative = a.count == 21 && a[20].intValue == 3
        return FinalizedState(first: f, last: relative ? f + second : second, dimensions: a.count >= 20 ? a[19].bytesValue : nil, items: a)
    }

    /// The elements by name (``fields``), times absolute, with the outcome it contributed (for
    /// tests and inspection; computed when asked).
    public var named: [String: String] {
        let a = items
        func int(_ i: Int) -> Int64 { i < a.count ? a[i].intValue ?? 0 : 0 }
        func text(_ i: Int) -> String { i < a.count ? a[i].stringValue ?? "" : "" }
        var named: [String: String] = [:]
        for (i, name) in Self.fields.prefix(10).enumerated() { named[name] = a[i].intValue.map { String($0) } ?? text(i) }
        named["last"] = String(last)
        let f = first
        if isVersion4 {
            // Version 4: relative times, the last intent `true` when it is the intents' last pair,
            // no outcome (it is lua/worker_lib.lua outcome_of of the state, mirrored here).
            let its = a[11].arrayValue ?? []
            var li = text(3), lit = int(4)
            if case .bool(true) = a[3] {
                li = its.count >= 2 ? its[its.count - 1].stringValue ?? "" : ""
                lit = its.count >= 2 ? (its[its.count - 2].intValue ?? 0) + f : -1
            } else if lit != -1 {
                lit += f
            }
            let ended = int(6) == 1
            named["li"] = li
            named["lit"] = String(lit)
            named["fs"] = String(f)
            named["fo"] = ended ? "ended" : "dropped"
            named["fd"] = ended ? "" : (li.isEmpty ? "unknown" : li)
            named["fe"] = String(int(5))
            named["ft"] = String(int(2))
            return named
        }
        for (i, name) in Self.fields.enumerated().dropFirst(10) { named[name] = a[i].intValue.map { String($0) } ?? text(i) }
        if a.count == 21 && int(20) == 3 {
            // Version 3: the last intent's time (unless −1) and the outcome's start after the first.
            if int(4) != -1 { named["lit"] = String(int(4) + f) }
            named["fs"] = String(int(10) + f)
        }
        return named
    }
}
