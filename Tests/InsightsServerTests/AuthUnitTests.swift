import Foundation
import Hummingbird
@testable import InsightsServer
import Testing

// The auth pieces on their own: SHA-256, key configuration, bind policy, rate limiter, route table.

@Suite("SHA-256")
struct DigestTests {
    /// FIPS 180-2 appendix B / NIST CAVS examples.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func vectors(input: String, expected: String) {
        #expect(KeyDigest.hex(input) == expected)
    }

    @Test func millionAs() {
        #expect(KeyDigest.hex([UInt8](KeyDigest.digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundary (55, 56, 63, 64 bytes), checked against sha256sum.
    @Test func paddingBoundaries() {
        #expect(KeyDigest.hex(String(repeating: "a", count: 55)) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        #expect(KeyDigest.hex(String(repeating: "a", count: 56)) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        #expect(KeyDigest.hex(String(repeating: "a", count: 64)) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }
}

@Suite("API keys: configuration")
struct KeyConfigTests {
    @Test func parsesEveryAttribute() throws {
        let d = String(repeating: "ab", count: 32)
        let keys = try APIKeyStore.parse("""
            # team A
            sha256:\(d) scopes=read,ingest agents=acme,beta name=team-a rate=2000 burst=500

            sha256:\(d.uppercased().replacingOccurrences(of: "AB", with: "CD")) scopes=admin agents=* rate=none  # ops
            """, source: "f", allowPlaintext: false)
        #expect(keys.count == 2)
        #expect(keys[0].name == "team-a" && keys[0].scopes == [.read, .ingest] && keys[0].agents == .only(["acme", "beta"]))
        #expect(keys[0].rate == .perSecond(2000) && keys[0].burst == 500 && KeyDigest.hex(keys[0].digest) == d)
        #expect(keys[1].agents == .all && keys[1].rate == .unlimited && keys[1].scopes == [.admin])
        #expect(keys[1].name == "key-cdcdcdcd")
        // The printed line parses back to the same key.
        #expect(try APIKeyStore.parse(keys[0].configLine, source: "x", allowPlaintext: false) == [keys[0]])
    }

    @Test func plaintextIsHashedAtLoad() throws {
        let store = try APIKeyStore.load(environmentValue: "key:secret-secret-1234 scopes=read agents=a;key:another-secret-5678 scopes=ingest agents=b",
                                         file: nil)
        #expect(store.keys.count == 2)
        #expect(store.keys[0].digest == KeyDigest.digest(Array("secret-secret-1234".utf8)))
        #expect(store.authenticate("another-secret-5678")?.key.agents == .only(["b"]))
        #expect(store.authenticate("secret-secret-123") == nil)
    }

    /// Each bad entry: the entry number and a message naming the problem.
    @Test(arguments: [
        ("sha256:abcd scopes=read agents=a", 1, "64 hex digits"),
        ("\nsha256:\(String(repeating: "zz", count: 32)) scopes=read agents=a", 2, "64 hex digits"),
        ("key:short scopes=read agents=a", 1, "at least 16"),
        ("plain-secret-1234567 scopes=read agents=a", 1, "starts with sha256"),
        ("key:long-enough-secret-1 agents=a", 1, "scopes= is required"),
        ("key:long-enough-secret-1 scopes=read", 1, "agents= is required"),
        ("key:long-enough-secret-1 scopes=read,write agents=a", 1, "unknown scope 'write'"),
        ("key:long-enough-secret-1 scopes= agents=a", 1, "unknown scope ''"),
        ("key:long-enough-secret-1 scopes=read agents=a{b}", 1, "invalid agent id"),
        ("key:long-enough-secret-1 scopes=read agents=a,,b", 1, "invalid agent id"),
        ("key:long-enough-secret-1 scopes=read agents=a rate=-5", 1, "rate must be"),
        ("key:long-enough-secret-1 scopes=read agents=a rate=fast", 1, "rate must be"),
        ("key:long-enough-secret-1 scopes=read agents=a burst=0", 1, "burst must be"),
        ("key:long-enough-secret-1 scopes=read agents=a color=red", 1, "unknown attribute 'color'"),
        ("key:long-enough-secret-1 scopes=read agents=a agents=b", 1, "given twice"),
        ("key:long-enough-secret-1 scopes=read agents=a name=has/slash", 1, "name must be"),
        ("key:long-enough-secret-1 scopes=read agents=a oops", 1, "expected name=value"),
        ("key:long-enough-secret-1 scopes=read agents=a\nkey:long-enough-secret-1 scopes=ingest agents=b", 2, "configured twice"),
        ("key:long-enough-secret-1 scopes=read agents=a name=x\nkey:long-enough-secret-2 scopes=ingest agents=b name=x", 2, "used twice"),
    ])
    func rejects(text: String, line: Int, message: String) {
        #expect {
            _ = try APIKeyStore.load(environmentValue: text, file: nil)
        } throws: { error in
            guard let e = error as? KeyConfigError else { return false }
            return e.line == line && e.message.contains(message) && e.source == "INSIGHTS_API_KEYS"
        }
    }

    @Test func keysFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("insights-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("keys").path
        let digest = KeyDigest.hex("file-key-0123456789")
        try "# keys\n\nsha256:\(digest) scopes=read agents=acme name=f\n".write(toFile: good, atomically: true, encoding: .utf8)
        let store = try APIKeyStore.load(environmentValue: "key:env-key-0123456789 scopes=ingest agents=*", file: good)
        #expect(store.keys.map(\.name) == ["key-" + String(KeyDigest.hex("env-key-0123456789").prefix(8)), "f"])
        #expect(store.authenticate("file-key-0123456789")?.key.name == "f")

        // A plaintext key in a file is refused (files hold digests only), with the file and line named.
        let bad = dir.appendingPathComponent("bad").path
        try "sha256:\(digest) scopes=read agents=acme\nkey:file-plain-0123456 scopes=read agents=acme\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect { _ = try APIKeyStore.load(environmentValue: nil, file: bad) } throws: { e in
            (e as? KeyConfigError).map { $0.source == bad && $0.line == 2 && $0.message.contains("only in INSIGHTS_API_KEYS") } ?? false
        }
        // The same key in the env and the file.
        #expect { _ = try APIKeyStore.load(environmentValue: "key:file-key-0123456789 scopes=read agents=a", file: good) } throws: { e in
            (e as? KeyConfigError)?.message.contains("configured twice") ?? false
        }
        #expect { _ = try APIKeyStore.load(environmentValue: nil, file: dir.appendingPathComponent("missing").path) } throws: { e in
            (e as? KeyConfigError)?.message.contains("cannot read the keys file") ?? false
        }
        // Only comments: no keys.
        #expect(try APIKeyStore.load(environmentValue: " \n# nothing\n", file: nil).isEmpty)
    }

    @Test func constantTimeCompare() throws {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
        // The lookup compares digests (never the secret) against every key, matched or not:
        // no early exit, so its time does not depend on which key (if any) matched.
        let store = try K.store()
        for secret in [K.acmeRead, K.root, K.wrong] {
            var calls = 0
            var compared: [[UInt8]] = []
            let found = store.authenticate(secret) { a, b in
                calls += 1
                compared.append(b)
                return ConstantTime.equals(a, b)
            }
            #expect(calls == store.keys.count)
            #expect(compared.allSatisfy { $0 == KeyDigest.digest(Array(secret.utf8)) })
            #expect(found?.key.name == (secret == K.wrong ? nil : secret == K.root ? "root" : "acme-read"))
        }
    }
}

@Suite("Bind policy")
struct BindPolicyTests {
    @Test(arguments: ["127.0.0.1", "127.1.2.3", "127.255.255.255", "localhost", "LOCALHOST", "::1", "[::1]", "0:0:0:0:0:0:0:1"])
    func loopback(host: String) {
        #expect(BindPolicy.isLoopback(host))
        #expect(BindPolicy.decide(host: host, keysConfigured: false, insecure: false) == .loopbackWithoutKeys)
    }

    @Test(arguments: ["0.0.0.0", "::", "", "192.168.1.10", "10.0.0.1", "128.0.0.1", "127.0.0", "127.0.0.1.5", "127.0.0.256",
                      "localhost.example.com", "example.com", "::2", "127.0.0.01x"])
    func notLoopback(host: String) {
        #expect(!BindPolicy.isLoopback(host))
        guard case .refused(let message) = BindPolicy.decide(host: host, keysConfigured: false, insecure: false) else {
            Issue.record("\(host) should be refused without keys")
            return
        }
        #expect(message.contains("--insecure") && message.contains("INSIGHTS_API_KEYS"))
        if case .insecure = BindPolicy.decide(host: host, keysConfigured: false, insecure: true) {} else {
            Issue.record("\(host) with --insecure should be allowed with a warning")
        }
        #expect(BindPolicy.decide(host: host, keysConfigured: true, insecure: false) == .authenticated)
    }
}

@Suite("Rate limiter")
struct RateLimiterTests {
    /// rate 10/s, burst 20, times given by hand.
    @Test func tokenBucket() {
        let l = RateLimiter()
        #expect(l.admit(1, cost: 15, rate: 10, burst: 20, now: 0) == .admitted)  // 20 → 5
        #expect(l.admit(1, cost: 10, rate: 10, burst: 20, now: 0) == .refused(retryAfter: 1))  // needs 5 more: 0.5 s → 1
        #expect(l.admit(2, cost: 20, rate: 10, burst: 20, now: 0) == .admitted)  // another key has its own bucket
        #expect(l.admit(1, cost: 10, rate: 10, burst: 20, now: 0.5) == .admitted)  // 5 + 5 = 10 → 0
        #expect(l.admit(1, cost: 20, rate: 10, burst: 20, now: 0.5) == .refused(retryAfter: 2))  // needs 20: 2 s
        #expect(l.admit(1, cost: 1, rate: 10, burst: 20, now: 0.55) == .refused(retryAfter: 1))  // 0.5 token
        #expect(l.admit(1, cost: 20, rate: 10, burst: 20, now: 100) == .admitted)  // refilled, capped at 20 → 0
        #expect(l.admit(1, cost: 0, rate: 10, burst: 20, now: 100) == .admitted)
    }

    /// A batch larger than the burst waits for a full bucket, then leaves it in debt.
    @Test func batchLargerThanBurst() {
        let l = RateLimiter()
        #expect(l.admit(1, cost: 5, rate: 10, burst: 20, now: 0) == .admitted)  // 15
        #expect(l.admit(1, cost: 50, rate: 10, burst: 20, now: 0) == .refused(retryAfter: 1))  // needs 20 − 15 = 5: 0.5 s
        #expect(l.admit(1, cost: 50, rate: 10, burst: 20, now: 0.5) == .admitted)  // full (20) → −30
        #expect(l.admit(1, cost: 10, rate: 10, burst: 20, now: 1.5) == .refused(retryAfter: 3))  // −20: needs 30 → 3 s
        #expect(l.admit(1, cost: 10, rate: 10, burst: 20, now: 4.5) == .admitted)  // 10 → 0
    }
}

/// The API keys' route table is the OpenAPI document's `x-insights-access`: every documented
/// operation declares a known value, and the real routes get the access docs/security.md states.
@Suite("Route access from the OpenAPI document")
struct RouteAccessTests {
    @Test func everyOperationDeclaresAKnownAccess() {
        let known: Set<String> = ["open", "any-key", "read", "ingest", "admin"]
        #expect(OpenAPIDocument.routes.routes.count == 39)
        for route in OpenAPIDocument.routes.routes {
            #expect(Set(route.access.keys) == Set(route.methods), "\(route.segments)")
            #expect(route.access.values.allSatisfy(known.contains), "\(route.segments)")
        }
    }

    @Test func realRoutesGetTheirAccess() {
        let cases: [(HTTPRequest.Method, String, RouteAccess)] = [
            (.get, "/health", .open), (.head, "/health", .open), (.get, "/openapi.json", .open), (.get, "/", .open),
            (.get, "/assets/app.js", .open), (.get, "/vendor/chart.min.js", .open), (.get, "/ready", .anyKey),
            (.post, "/api/v1/events", .scope(.ingest)), (.get, "/api/v1/agents", .scope(.read)),
            (.get, "/api/v1/status", .scope(.admin)), (.get, "/api/v1/analytics/dashboard/overview", .scope(.read)),
            (.get, "/api/v1/analytics/users/journey/s-1", .scope(.read)),
            (.post, "/api/v1/alerts/rules", .scope(.admin)), (.get, "/api/v1/alerts/rules", .scope(.admin)),
            (.delete, "/api/v1/alerts/rules/0123456789abcdef", .scope(.admin)), (.get, "/api/v1/alerts", .scope(.read)),
            (.get, "/api/v1/alerts/deliveries", .scope(.admin)),
            // Undocumented method, path, or a path trick: refused to every key.
            (.get, "/api/v1/events", .unlisted), (.post, "/api/v1/agents", .unlisted), (.get, "/vendor/other.js", .unlisted),
            (.get, "/api/v1/analytics/nope", .unlisted), (.get, "/api/v1/agents/", .unlisted),
            (.get, "/api/v1/analytics/users/journey/..", .unlisted), (.get, "/api/v1/%61gents", .unlisted),
        ]
        for (method, path, expected) in cases {
            #expect(RouteAccess.of(method: method, path: path) == expected, "\(method) \(path)")
        }
    }
}
