import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import RedisClient
import Testing

/// `GET /openapi.json`, 405 for undeclared methods, and a batch with no valid event (e2e/test_openapi.py
/// and e2e/test_hostile.py test the same against a real process).
@Suite("OpenAPI document and method handling")
struct OpenAPITests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    @Test func documentIsServedAndListsTheIngestRoute() async throws {
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/json; charset=utf-8")
                let o = try object(r)
                #expect(o["openapi"] as? String == "3.1.0")
                let paths = try #require(o["paths"] as? [String: Any])
                #expect(paths.count == 39)
                let events = try #require(paths["/api/v1/events"] as? [String: Any])
                #expect(Array(events.keys) == ["post"])
            }
        }
    }

    /// The document states the id rule the server applies (IdentifierRule), for every agent_id and
    /// session_id parameter and event field, so schemathesis checks it too.
    @Test func everyIDIsDescribedByTheIDRule() async throws {
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { r in
                let o = try object(r)
                let schemas = try #require((o["components"] as? [String: Any])?["schemas"] as? [String: Any])
                let id = try #require(schemas["Identifier"] as? [String: Any])
                #expect(id["pattern"] as? String == IdentifierRule.pattern)
                #expect(id["maxLength"] as? Int == IdentifierRule.maxLength)
                #expect(id["minLength"] as? Int == 1)
                let ref = "#/components/schemas/Identifier"
                var seen = 0
                for (_, item) in try #require(o["paths"] as? [String: [String: Any]]) {
                    for (_, op) in item {
                        for p in (op as? [String: Any])?["parameters"] as? [[String: Any]] ?? []
                        where ["agent_id", "session_id"].contains(p["name"] as? String) {
                            #expect((p["schema"] as? [String: Any])?["$ref"] as? String == ref, "\(p)")
                            seen += 1
                        }
                    }
                }
                #expect(seen == 21)
                let event = try #require((schemas["Event"] as? [String: Any])?["properties"] as? [String: [String: Any]])
                for f in ["event_id", "session_id", "user_id", "agent_id"] { #expect(event[f]?["$ref"] as? String == ref) }
            }
        }
    }

    @Test func undeclaredMethodIs405WithAllow() async throws {
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .get) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "POST")
                let o = try object(r)
                #expect(o["error"] as? String == "method not allowed")
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/s1", method: .delete) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "GET")
            }
            try await client.execute(uri: "/api/v1/nothing", method: .delete) { r in
                #expect(r.status == .notFound)
            }
        }
    }

    @Test func batchWithoutAValidEventIs400() async throws {
        let payload = try body([ServerFixture.ev("x1", f.nowMs, "user_message", "s{1}"),
                                ServerFixture.ev("x2", f.nowMs + 3_600_000, "user_message", "s")])
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: payload) { r in
                #expect(r.status == .badRequest)
                let o = try object(r)
                #expect(o["error"] as? String == "no valid events")
                let detail = try #require(o["detail"] as? String)
                #expect(detail.hasPrefix("event 0: session_id: contains disallowed character '{'"))
                #expect(detail.contains("; event 1: timestamp: must not be more than 5 minutes in the future"))
            }
        }
        let keys = try await f.client.send("DBSIZE")
        #expect(keys == .integer(0))
    }

    @Test func costPerInteractionIsBounded() async throws {
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/analytics/business/cost-savings?agent_id=a&cost_per_interaction=7.5e307", method: .get) { r in
                #expect(r.status == .badRequest)
                let o = try object(r)
                #expect((o["detail"] as? String)?.contains("0 to 1000000") == true)
            }
        }
    }
}
