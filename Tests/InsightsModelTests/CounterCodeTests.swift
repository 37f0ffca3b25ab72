import Foundation
import InsightsModel
import Testing

/// The bucket field codes (docs/keys.md, *Field codes*): unambiguous, reversible, and the same in
/// Swift, in the scripts (`FIELD` in lua/common.lua) and in the tests' Python mirror (e2e/storage.py).
@Suite struct CounterCodeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyFieldReadsBackAsItsName() {
        var names = CounterCode.fixed.map(\.name)
        names += ["intent:book_flight", "intent:/start", "intent:E", "rt:-1", "rt:31", "drop:unknown", "ch:web", "ch:W"]
        for n in names {
            let c = CounterCode.code(n)
            #expect(c != n && c.utf8.count < n.utf8.count, "\(n) has no shorter code")
            #expect(CounterCode.name(c) == n)
            #expect(CounterCode.name(Array(c.utf8)) == n)
        }
        #expect(CounterCode.code("ev:user_message") == "E2" && CounterCode.code("events") == "E" && CounterCode.code("intent:x") == "#x")
        #expect(CounterCode.code("rt:16") == "H16" && CounterCode.code("out:dropped") == "OD" && CounterCode.code("drop:pay") == "Dpay")
    }

    @Test func namesAndFamilyFieldsStayAsTheyAre() {
        // A map written before the codes holds names: each reads as itself. Family fields, the slice
        // share and a prefix with nothing after it are not coded.
        for f in ["events", "intent:x", "rt:3", "fb:n", "x/calls", "q/wf:started:refund", "c:/v1/pay", "@", "intent:", "E99", "Z"] {
            #expect(CounterCode.name(f) == f)
        }
        for f in ["x/calls", "q/fb:n", "n/e\u{1F}et\u{1F}city", "@", "intent:", "custom_field"] {
            #expect(CounterCode.code(f) == f)
        }
    }

    @Test func codesAreDistinctAndBeginWithNoNamesFirstCharacter() {
        let codes = CounterCode.fixed.map(\.code) + CounterCode.prefixes.map(\.code)
        #expect(Set(codes).count == codes.count)
        let prefixFirst = Set(CounterCode.prefixes.map { $0.code.first! })
        for c in codes {
            let first = c.unicodeScalars.first!
            #expect(!("a"..."z").contains(first), "\(c) begins like a name")
            #expect(first != "@" && c.utf8.dropFirst().first != UInt8(ascii: "/"), "\(c) looks like a slice share or a family field")
        }
        for c in CounterCode.fixed.map(\.code) { #expect(!prefixFirst.contains(c.first!), "\(c) begins like a named field's code") }
        #expect(CounterCode.prefixes.allSatisfy { $0.code.count == 1 })
    }

    /// `FIELD = { name = 'code', ['out:x'] = 'code', … }` and `FIELD_INTENT, FIELD_DROP = '#', 'D'`.
    @Test func theScriptsUseTheSameCodes() throws {
        let lua = try String(contentsOf: Self.repo.appendingPathComponent("lua/common.lua"), encoding: .utf8)
        let table = try #require(lua.range(of: #"local FIELD = \{[^}]*\}"#, options: .regularExpression).map { String(lua[$0]) })
        let pairs = try NSRegularExpression(pattern: #"(?:\['([^']+)'\]|([a-z_]+)) = '([^']+)'"#)
            .matches(in: table, range: NSRange(table.startIndex..., in: table)).map { m -> (String, String) in
                let g = { (i: Int) in Range(m.range(at: i), in: table).map { String(table[$0]) } }
                return (g(1) ?? g(2)!, g(3)!)
            }
        #expect(pairs.count >= 13)
        for (name, code) in pairs { #expect(CounterCode.code(name) == code, "lua/common.lua codes \(name) as \(code)") }
        #expect(lua.contains("local FIELD_INTENT, FIELD_DROP = '\(CounterCode.code("intent:x").dropLast())', '\(CounterCode.code("drop:x").dropLast())'"))
    }

    @Test func thePythonMirrorHasTheSameTable() throws {
        let py = try String(contentsOf: Self.repo.appendingPathComponent("e2e/storage.py"), encoding: .utf8)
        for (name, code) in CounterCode.fixed where !name.hasPrefix("ev:") {
            #expect(py.contains("\"\(name)\": \"\(code)\""), "e2e/storage.py lacks \(name) → \(code)")
        }
        let prefixes = CounterCode.prefixes.map { "\"\($0.name)\": \"\($0.code)\"" }.joined(separator: ", ")
        #expect(py.contains("FIELD_PREFIXES = {\(prefixes)}"))
    }
}
