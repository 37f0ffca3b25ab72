import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsAlerts
import InsightsModel
@testable import InsightsServer
import InsightsTestSupport
import RedisClient
import Testing

/// A field of a JSON object answer, nil if the body is not one.
private func value(_ r: TestResponse, _ key: String) -> Any? { (try? object(r))?[key] }

/// `/api/v1/alerts…` on the real router and a private redis-server.
@Suite("Alerts: endpoints")
struct AlertsEndpointTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    static var rule: [String: Any] { [
        "name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 1, "condition": "above",
        "threshold": 40, "webhook_url": "https://hooks.example.com/insights",
    ] }

    func with(_ changes: [String: Any?]) -> [String: Any] {
        var r = Self.rule
        for (k, v) in changes { r[k] = v }
        return r
    }

    func keyed() throws -> ServerConfiguration {
        var c = ServerConfiguration(port: 0)
        c.apiKeys = try K.store()
        return c
    }

    @Test func createListGetDelete() async throws {
        try await f.app().test(.router) { client in
            var id = ""
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, body: try body(Self.rule)) { r in
                #expect(r.status == .created)
                let o = try object(r)
                id = o["id"] as? String ?? ""
                #expect(AlertRule.isValidID(id))
                #expect((o["secret"] as? String)?.count == 64)
                #expect(o["state"] as? String == "ok" && o["threshold"] as? Double == 40 && o["min_count"] as? Int == 1)
                #expect(o["sensitivity"] is NSNull && o["last_window_end"] is NSNull)
                #expect(r.headers[.location] == "/api/v1/alerts/rules/\(id)")
            }
            try await client.execute(uri: "/api/v1/alerts/rules?agent_id=acme", method: .get) { r in
                #expect(r.status == .ok)
                let rules = try #require(try object(r)["rules"] as? [[String: Any]])
                #expect(rules.count == 1 && rules[0]["id"] as? String == id && rules[0]["secret"] == nil)
            }
            try await client.execute(uri: "/api/v1/alerts/rules?agent_id=other", method: .get) { r in
                let rules = try object(r)["rules"] as? [Any]
                #expect(rules != nil && rules?.isEmpty == true)
            }
            try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: .get) { r in
                #expect(r.status == .ok && value(r, "name") as? String == "fallback spike")
            }
            try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: .delete) { r in #expect(r.status == .noContent) }
            for method in [HTTPRequest.Method.get, .delete] {
                try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: method) { r in
                    #expect(r.status == .notFound && value(r, "error") as? String == "rule not found")
                }
            }
            try await client.execute(uri: "/api/v1/alerts/rules/not-an-id", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    /// Every invalid rule is a 400 whose `error` names the field; nothing is stored.
    @Test func invalidRulesAre400s() async throws {
        let cases: [([String: Any], String)] = [
            (with(["threshold": nil]), "invalid field threshold"),
            (with(["window_minutes": 0]), "invalid field window_minutes"),
            (with(["metric": "nope"]), "invalid field metric"),
            (with(["condition": "sideways"]), "invalid field condition"),
            (with(["agent_id": "a{b}"]), "invalid field agent_id"),
            (with(["min_count": -1]), "invalid field min_count"),
            (with(["extra": 1]), "invalid field extra"),
            (with(["webhook_url": "http://127.0.0.1:8080/hook"]), "invalid field webhook_url"),
            (with(["webhook_url": "http://169.254.169.254/latest"]), "invalid field webhook_url"),
            (with(["webhook_url": "file:///etc/passwd"]), "invalid field webhook_url"),
        ]
        let requests = try cases.map { (try body($0.0), $0.1, "\($0.0)") }
        try await f.app().test(.router) { client in
            for (payload, expected, rule) in requests {
                try await client.execute(uri: "/api/v1/alerts/rules", method: .post, body: payload) { r in
                    #expect(r.status == .badRequest, "\(rule)")
                    let o = try object(r)
                    #expect(o["error"] as? String == expected, "\(o)")
                    #expect((o["detail"] as? String)?.isEmpty == false)
                }
            }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, body: ByteBuffer(string: "{not json")) { r in
                #expect(r.status == .badRequest && value(r, "error") as? String == "invalid rule")
            }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, body: ByteBuffer(string: String(repeating: " ", count: 20_000) + "{}")) { r in
                #expect(r.status == .contentTooLarge)
            }
            for bad in ["/api/v1/alerts?state=open", "/api/v1/alerts?limit=0", "/api/v1/alerts/deliveries", "/api/v1/alerts/deliveries?rule_id=xyz"] {
                try await client.execute(uri: bad, method: .get) { r in #expect(r.status == .badRequest, "\(bad)") }
            }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .get) { r in
                #expect((value(r, "rules") as? [Any])?.isEmpty == true)
            }
        }
    }

    /// Rules need the admin scope and an agent of the key; another tenant never sees them.
    @Test func keysScopeRules() async throws {
        try await f.app(try keyed()).test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, headers: K.bearer(K.acmeRead), body: try body(Self.rule)) { r in
                #expect(r.status == .forbidden && value(r, "error") as? String == "missing scope")
            }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, headers: K.bearer(K.acmeAdmin), body: try body(with(["agent_id": "other"]))) { r in
                #expect(r.status == .forbidden && value(r, "error") as? String == "agent not allowed")
            }
            var id = ""
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, headers: K.bearer(K.acmeAdmin), body: try body(Self.rule)) { r in
                #expect(r.status == .created)
                id = try object(r)["id"] as? String ?? ""
            }
            try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: .get, headers: K.bearer(K.otherAll)) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: .delete, headers: K.bearer(K.otherAll)) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .get, headers: K.bearer(K.otherAll)) { r in
                #expect((value(r, "rules") as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/api/v1/alerts/rules", method: .get, headers: K.bearer(K.root)) { r in
                #expect((value(r, "rules") as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/api/v1/alerts", method: .get, headers: K.bearer(K.acmeRead)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/alerts?agent_id=acme", method: .get, headers: K.bearer(K.otherAll)) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/api/v1/alerts/deliveries?rule_id=\(id)", method: .get, headers: K.bearer(K.otherAll)) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/api/v1/alerts/deliveries?rule_id=\(id)", method: .get, headers: K.bearer(K.acmeRead)) { r in
                #expect(r.status == .forbidden && value(r, "error") as? String == "missing scope")
            }
        }
    }

    /// The fixture's minute B has 2 classifications, 1 of them fallback (50 %); minute B + 1 has
    /// 1 (cancel, 0 %). A 1-minute rule above 40 fires for the window ending B + 60 s with 50 and
    /// resolves for the one ending B + 120 s.
    @Test func alertsListedAfterEvaluation() async throws {
        let f = self.f
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: try body(f.all)) { r in #expect(r.status == .ok) }
            var id = ""
            try await client.execute(uri: "/api/v1/alerts/rules", method: .post, body: try body(with(["webhook_url": nil]))) { r in
                id = try object(r)["id"] as? String ?? ""
            }
            var config = AlertConfiguration()
            config.jitterMs = 0
            let engine = try AlertEngine(client: f.client, configuration: config)
            #expect(try await engine.evaluate(windowEnd: f.B + 60_000, at: f.B + 70_000).map(\.outcome) == ["fired"])
            try await client.execute(uri: "/api/v1/alerts?state=firing", method: .get) { r in
                let alerts = try #require(try object(r)["alerts"] as? [[String: Any]])
                #expect(alerts.count == 1)
                #expect(alerts.first?["value"] as? Double == 50 && alerts.first?["rule_id"] as? String == id)
                #expect(alerts.first?["window_start"] as? String == ISO8601.format(ms: f.B))
                #expect(alerts.first?["resolved_at"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/alerts/rules/\(id)", method: .get) { r in
                let o = try object(r)
                #expect(o["state"] as? String == "firing" && o["last_window_end"] as? String == ISO8601.format(ms: f.B + 60_000))
            }
            #expect(try await engine.evaluate(windowEnd: f.B + 120_000, at: f.B + 130_000).map(\.outcome) == ["resolved"])
            try await client.execute(uri: "/api/v1/alerts?agent_id=acme", method: .get) { r in
                let alerts = try #require(try object(r)["alerts"] as? [[String: Any]])
                #expect(alerts.count == 1 && alerts.first?["state"] as? String == "resolved")
                #expect(alerts.first?["resolved_at"] as? String == ISO8601.format(ms: f.B + 130_000))
            }
            try await client.execute(uri: "/api/v1/alerts?state=firing", method: .get) { r in
                #expect((value(r, "alerts") as? [Any])?.isEmpty == true)
            }
        }
    }

    /// 70 minutes of 10 user messages each, then one minute of 30, all of agent `spiky`. A minute's
    /// baseline is the 60 minutes before it: all 10 (MAD 0, floor √10 = 3.162), so the 30-minute
    /// scores (30 − 10) / √10 = 6.32 and is the only anomaly in the scan of minutes 60–70 (earlier
    /// ones would be judged against the empty minutes before the traffic began, later ones are empty).
    @Test func anomaliesEndpoint() async throws {
        let f = self.f
        let spike = (f.nowMs / 60_000 - 5) * 60_000, first = spike - 70 * 60_000
        var events: [[String: Any]] = []
        for m in 0...70 {
            let t = first + Int64(m) * 60_000
            for i in 0..<(m == 70 ? 30 : 10) {
                events.append(ServerFixture.ev("m\(m)-\(i)", t + Int64(i) * 100, "user_message", "s\(m)", agent: "spiky"))
            }
        }
        let parts = try stride(from: 0, to: events.count, by: 500).map { try body(Array(events[$0..<min($0 + 500, events.count)])) }
        try await f.app().test(.router) { client in
            for part in parts {
                try await client.execute(uri: "/api/v1/events", method: .post, body: part) { r in #expect(r.status == .ok) }
            }
            let window = "start_date=\(q(ISO8601.format(ms: first + 60 * 60_000)))&end_date=\(q(ISO8601.format(ms: spike + 60_000)))"
            try await client.execute(uri: "/api/v1/analytics/anomalies?agent_id=spiky&\(window)", method: .get) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["resolution"] as? String == "minute" && o["sensitivity"] as? Double == 3 && o["min_count"] as? Int == 20)
                let found = try #require(o["anomalies"] as? [[String: Any]])
                #expect(found.count == 1, "\(found)")
                #expect(found.first?["at"] as? String == ISO8601.format(ms: spike) && found.first?["metric"] as? String == "total_messages")
                #expect(found.first?["value"] as? Double == 30 && found.first?["baseline"] as? Double == 10)
                #expect(abs((found.first?["score"] as? Double ?? 0) - 20 / 10.0.squareRoot()) < 1e-9)
            }
            // Every conversation is one minute's: total_conversations is 1 in each, no anomaly there.
            for bad in ["interval=day", "sensitivity=0", "min_count=1.5", "start_date=\(q(ISO8601.format(ms: spike - 40 * 86_400_000)))",
                        "interval=minute&start_date=\(q(ISO8601.format(ms: spike - 7 * 3_600_000)))&end_date=\(q(ISO8601.format(ms: spike)))"] {
                try await client.execute(uri: "/api/v1/analytics/anomalies?agent_id=spiky&\(bad)", method: .get) { r in
                    #expect(r.status == .badRequest, "\(bad)")
                }
            }
            try await client.execute(uri: "/api/v1/analytics/anomalies", method: .get) { r in #expect(r.status == .badRequest) }
        }
    }
}
