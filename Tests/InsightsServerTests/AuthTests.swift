import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
@testable import InsightsServer
import InsightsTestSupport
import RedisClient
import Testing

/// The secrets of the test keys (plaintext entries, hashed at load like INSIGHTS_API_KEYS).
enum K {
    static let acmeRead = "acme-read-0123456789"
    static let acmeIngest = "acme-ingest-0123456789"
    static let acmeAdmin = "acme-admin-0123456789"
    static let acmeAll = "acme-all-0123456789"
    static let otherAll = "other-all-0123456789"
    static let root = "root-all-agents-0123456789"
    static let wrong = "not-a-configured-key-0123"

    static let config = """
        key:\(acmeRead) scopes=read agents=acme name=acme-read
        key:\(acmeIngest) scopes=ingest agents=acme name=acme-ingest
        key:\(acmeAdmin) scopes=admin agents=acme name=acme-admin
        key:\(acmeAll) scopes=ingest,read,admin agents=acme name=acme-all rate=0
        key:\(otherAll) scopes=ingest,read,admin agents=other name=other-all
        key:\(root) scopes=ingest,read,admin agents=* name=root rate=none
        """

    static func store() throws -> APIKeyStore {
        try APIKeyStore.load(environmentValue: config, file: nil)
    }

    static func bearer(_ key: String?) -> HTTPFields {
        var h = HTTPFields()
        if let key { h[.authorization] = "Bearer \(key)" }
        return h
    }
}

/// Every endpoint × {no key, wrong key, another tenant's key, right key with the wrong scope,
/// right key}, against a private redis-server holding agents `acme` and `other`.
@Suite("API keys: endpoints")
struct AuthEndpointTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    func app(_ store: APIKeyStore, limiter: RateLimiter = RateLimiter()) throws -> some ApplicationProtocol {
        var config = ServerConfiguration(port: 0)
        config.apiKeys = store
        config.rateLimiter = limiter
        return try f.app(config)
    }

    struct Endpoint: CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        /// A key with the right agents but not the needed scope (nil: any key will do).
        var wrongScope: String?
        /// What `otherAll` (all scopes, agent `other` only) gets.
        var otherTenant: HTTPResponse.Status
        var description: String { "\(method) \(uri)" }
    }

    var endpoints: [Endpoint] {
        let w = "agent_id=acme"
        var list = [
            Endpoint(method: .post, uri: "/api/v1/events", wrongScope: K.acmeRead, otherTenant: .forbidden),
            Endpoint(method: .get, uri: "/api/v1/agents", wrongScope: K.acmeIngest, otherTenant: .ok),
            Endpoint(method: .get, uri: "/api/v1/status", wrongScope: K.acmeRead, otherTenant: .ok),
            Endpoint(method: .get, uri: "/ready", wrongScope: nil, otherTenant: .ok),
            Endpoint(method: .get, uri: "/api/v1/analytics/users/journey/s1?\(w)", wrongScope: K.acmeAdmin, otherTenant: .forbidden),
            // Without agent_id another tenant's key does not find acme's session: 404, nothing leaked.
            Endpoint(method: .get, uri: "/api/v1/analytics/users/journey/s1", wrongScope: K.acmeIngest, otherTenant: .notFound),
        ]
        for path in ["conversations/metrics", "conversations/timeseries", "nlu/metrics", "users/drop-off",
                     "business/automation-rate", "business/cost-savings", "dashboard/overview"] {
            list.append(Endpoint(method: .get, uri: "/api/v1/analytics/\(path)?\(w)", wrongScope: K.acmeIngest, otherTenant: .forbidden))
        }
        return list
    }

    func seed(_ client: some TestClientProtocol) async throws {
        try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer(K.root), body: try body(f.all)) { r in
            #expect(r.status == .ok)
            let accepted = try object(r)["accepted"] as? Int
            #expect(accepted == f.all.count)
        }
        try await f.drain()
    }

    @Test func everyEndpointEveryCredential() async throws {
        let f = self.f, endpoints = self.endpoints
        let event = try body([ServerFixture.ev("n1", f.B + 50_000, "user_message", "s9")])
        try await app(try K.store()).test(.router) { client in
            try await seed(client)
            for e in endpoints {
                let payload = e.method == .post ? event : nil
                func run(_ key: String?, _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
                    try await client.execute(uri: e.uri, method: e.method, headers: K.bearer(key), body: payload) { r in try check(r) }
                }
                // No key, wrong key: 401 with WWW-Authenticate and a JSON error.
                for key in [nil, K.wrong] {
                    try await run(key) { r in
                        #expect(r.status == .unauthorized, "\(e) key \(key ?? "none")")
                        #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(e)")
                        let error = try object(r)["error"] as? String
                        #expect(error == (key == nil ? "missing API key" : "invalid API key"), "\(e)")
                    }
                }
                try await run(K.otherAll) { r in
                    #expect(r.status == e.otherTenant, "\(e) other tenant")
                    let text = String(buffer: r.body)
                    #expect(!text.contains("acme") || r.status == .forbidden, "\(e) leaks acme: \(text)")
                }
                if let wrong = e.wrongScope {
                    try await run(wrong) { r in
                        #expect(r.status == .forbidden, "\(e) wrong scope")
                        let error = try object(r)["error"] as? String
                        #expect(error == "missing scope", "\(e)")
                    }
                }
                // The right key: the one with just the needed scope (acmeAll for /ready).
                let right = e.uri.hasPrefix("/api/v1/events") ? K.acmeIngest
                    : e.uri.hasPrefix("/api/v1/status") ? K.acmeAdmin
                    : e.uri.hasPrefix("/ready") ? K.acmeIngest : K.acmeRead
                try await run(right) { r in #expect(r.status == .ok, "\(e) right key: \(String(buffer: r.body))") }
            }
            // What the right keys see.
            try await client.execute(uri: "/api/v1/agents", method: .get, headers: K.bearer(K.acmeRead)) { r in
                let agents = try object(r)["agents"] as? [String]
                #expect(agents == ["acme"])
            }
            try await client.execute(uri: "/api/v1/agents", method: .get, headers: K.bearer(K.otherAll)) { r in
                let agents = try object(r)["agents"] as? [String]
                #expect(agents == ["other"])
            }
            try await client.execute(uri: "/api/v1/agents", method: .get, headers: K.bearer(K.root)) { r in
                let agents = try object(r)["agents"] as? [String]
                #expect(agents == ["acme", "other"])
            }
            try await client.execute(uri: "/api/v1/status", method: .get, headers: K.bearer(K.acmeAdmin)) { r in
                let o = try object(r)
                let agents = try #require(o["agents"] as? [String: [String: Int]])
                #expect(Set(agents.keys) == ["acme"] && o["lag"] as? Int == agents["acme"]?["lag"])
            }
            try await client.execute(uri: "/api/v1/status", method: .get, headers: K.bearer(K.root)) { r in
                let agents = try #require(try object(r)["agents"] as? [String: Any])
                #expect(Set(agents.keys) == ["acme", "other"])
            }
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme&start_date=\(q(ISO8601.format(ms: f.H * 1000)))&end_date=\(q(ISO8601.format(ms: (f.H + 3600) * 1000)))",
                                     method: .get, headers: K.bearer(K.acmeRead)) { r in
                let total = try object(r)["total_conversations"] as? Int
                #expect(total == 3)  // s1, s2 and s9 (posted by the matrix with the right ingest key)
            }
            // Journey without agent_id: found among the key's agents only.
            try await client.execute(uri: "/api/v1/analytics/users/journey/s1", method: .get, headers: K.bearer(K.acmeRead)) { r in
                let j = try object(r)
                #expect(j["agent_id"] as? String == "acme" && (j["journey"] as? [Any])?.count == 10)
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/x1", method: .get, headers: K.bearer(K.acmeRead)) { r in
                #expect(r.status == .notFound)  // x1 belongs to `other`
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/x1", method: .get, headers: K.bearer(K.otherAll)) { r in
                let agent = try object(r)["agent_id"] as? String
                #expect(agent == "other")
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/x1?agent_id=other", method: .get, headers: K.bearer(K.acmeRead)) { r in
                #expect(r.status == .forbidden)
            }
        }
    }

    @Test func openRoutesAndDenyByDefault() async throws {
        try await app(try K.store()).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { r in #expect(r.status == .ok) }
            // The dashboard's page and files and the OpenAPI document need no key (they may be 404 if absent).
            for uri in ["/", "/assets/app.js", "/vendor/chart.min.js", "/openapi.json"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status != .unauthorized && r.status != .forbidden, "\(uri)")
                }
            }
            // Any route not in the table: 401 without a key, 403 with any valid key (even all scopes).
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/secret-new-route"), (.delete, "/api/v1/events"),
                                  (.post, "/api/v1/agents"), (.get, "/api/v2/agents"), (.get, "/nope"),
                                  (.get, "/assets/../api/v1/agents"), (.get, "/api/v1/analytics/../status"),
                                  (.get, "/api/v1//agents"), (.get, "/api/v1/%61gents")] {
                try await client.execute(uri: uri, method: method) { r in #expect(r.status == .unauthorized, "\(method) \(uri)") }
                try await client.execute(uri: uri, method: method, headers: K.bearer(K.root)) { r in
                    #expect(r.status == .forbidden, "\(method) \(uri)")
                    let error = try object(r)["error"] as? String
                    #expect(error == "forbidden")
                }
            }
            // Malformed Authorization headers.
            for header in ["Basic \(K.root)", K.root, "Bearer", "Bearer  ", "bearer \(K.root)x"] {
                var h = HTTPFields()
                h[.authorization] = header
                try await client.execute(uri: "/api/v1/agents", method: .get, headers: h) { r in
                    #expect(r.status == .unauthorized, "\(header)")
                }
            }
            var h = HTTPFields()
            h[.authorization] = "bearer \(K.root)"  // the scheme is case-insensitive
            try await client.execute(uri: "/api/v1/agents", method: .get, headers: h) { r in #expect(r.status == .ok) }
            // A repeated agent_id: every value is checked.
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme&agent_id=other", method: .get,
                                     headers: K.bearer(K.acmeRead)) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=other&agent_id=acme", method: .get,
                                     headers: K.bearer(K.acmeRead)) { r in #expect(r.status == .forbidden) }
        }
    }

    @Test func ingestWithOneForeignAgentWritesNothing() async throws {
        let f = self.f
        let mixed = try body([ServerFixture.ev("m1", f.B, "user_message", "s1"), ServerFixture.ev("m2", f.B, "user_message", "s2"),
                              ServerFixture.ev("m3", f.B, "user_message", "s3", agent: "other")])
        // An event naming a foreign agent refuses the batch even if it is invalid (confidence 5).
        let invalidForeign = try body([ServerFixture.ev("m4", f.B, "user_message", "s1"),
                                       ServerFixture.ev("m5", f.B, "intent_classified", "s1", agent: "other", conf: 5)])
        try await app(try K.store()).test(.router) { client in
            for batch in [mixed, invalidForeign] {
                try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer(K.acmeIngest), body: batch) { r in
                    #expect(r.status == .forbidden)
                    let o = try object(r)
                    #expect(o["error"] as? String == "agent not allowed" && (o["detail"] as? String)?.contains("'other'") == true)
                }
            }
            #expect(try await f.client.send("DBSIZE").int == 0)
            // The same batch with the root key is written whole.
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer(K.root), body: mixed) { r in
                let accepted = try object(r)["accepted"] as? Int
                #expect(accepted == 3)
            }
            #expect(try await f.client.send("XLEN", key: "ins:{acme}:stream").int == 2)
            #expect(try await f.client.send("XLEN", key: "ins:{other}:stream").int == 1)
        }
    }

    @Test func ingestRateLimit() async throws {
        let f = self.f
        let store = try APIKeyStore.load(environmentValue: """
            key:slow-key-0123456789 scopes=ingest agents=acme name=slow rate=1 burst=5
            key:default-key-0123456789 scopes=ingest agents=acme name=dflt
            """, file: nil, defaultRate: 2)
        let B = f.B
        @Sendable func batch(_ prefix: String, _ n: Int) throws -> ByteBuffer {
            try body((0..<n).map { ServerFixture.ev("\(prefix)\($0)", B + Int64($0), "user_message", "s-\(prefix)") })
        }
        // A clock that stands still: the Retry-After values are exact however slow the machine is.
        let limiter = RateLimiter(clock: { 100 })
        try await app(store, limiter: limiter).test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer("slow-key-0123456789"), body: try batch("a", 5)) { r in
                #expect(r.status == .ok)
                let accepted = try object(r)["accepted"] as? Int
                #expect(accepted == 5)
            }
            // The bucket is empty: 3 events need 3 s at 1 event/s.
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer("slow-key-0123456789"), body: try batch("b", 3)) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.headers[.retryAfter] == "3")
                let o = try object(r)
                #expect(o["error"] as? String == "rate limit exceeded" && o["accepted"] == nil)
            }
            // Invalid events cost nothing and are not a 2xx for dropped events: the 400s stay 400s.
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer("slow-key-0123456789"), body: ByteBuffer(string: "[1,")) { r in
                #expect(r.status == .badRequest)
            }
            // Nothing of the refused batch was written.
            #expect(try await f.client.send("XLEN", key: "ins:{acme}:stream").int == 5)
            let ids = try await f.client.send("XRANGE", key: "ins:{acme}:stream", "-", "+").array ?? []
            #expect(ids.count == 5)
            #expect(!ids.contains { String(describing: $0).contains("\"b0\"") })
            // The default rate (2/s, burst 4) applies to a key without rate=; buckets are per key.
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer("default-key-0123456789"), body: try batch("c", 4)) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/events", method: .post, headers: K.bearer("default-key-0123456789"), body: try batch("d", 2)) { r in
                #expect(r.status == .tooManyRequests && r.headers[.retryAfter] == "1")
            }
            #expect(try await f.client.send("XLEN", key: "ins:{acme}:stream").int == 9)
        }
    }

    /// With no keys configured, nothing asks for one (the loopback-only default, `make run`).
    @Test func noKeysNoAuthentication() async throws {
        try await app(APIKeyStore()).test(.router) { client in
            try await client.execute(uri: "/api/v1/agents", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/status", method: .get, headers: K.bearer(K.wrong)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post,
                                     body: try body([ServerFixture.ev("z", f.B, "user_message", "s")])) { r in #expect(r.status == .ok) }
        }
    }
}
