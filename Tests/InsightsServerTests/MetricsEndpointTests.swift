import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
@testable import InsightsServer
import InsightsTestSupport
import RedisClient
import Testing

/// `GET /metrics` (docs/operations.md, *Metrics*): the counters move by the events sent, per source
/// and outcome; per-agent lag from Redis; admin keys for all agents only. The registry is the
/// process's, shared by every suite running in parallel, so counters are compared before and after
/// (other suites can only add to them) and the agents are this test's own.
@Suite("Prometheus metrics")
struct MetricsEndpointTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    /// Every sample of the text format: `name{labels}` → value.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }

    func scrape(_ client: some TestClientProtocol, headers: HTTPFields = [:]) async throws -> [String: Double] {
        try await client.execute(uri: "/metrics", method: .get, headers: headers) { r in
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return Self.samples(String(buffer: r.body))
        }
    }

    @Test func countersMoveByTheEventsSent() async throws {
        try await f.app().test(.router) { client in
            let before = try await scrape(client)
            func delta(_ key: String, _ after: [String: Double]) -> Double { (after[key] ?? 0) - (before[key] ?? 0) }
            let t = f.nowMs - 60_000
            // HTTP: 3 valid (one a duplicate on re-send), 1 invalid.
            let batch = [ServerFixture.ev("mx1", t, "user_message", "ms1", agent: "metrics-a"),
                         ServerFixture.ev("mx2", t + 1, "bot_response", "ms1", agent: "metrics-a", rt: 90),
                         ["event_id": "bad", "event_type": "nope", "session_id": "ms1", "agent_id": "metrics-a"]]
            for _ in 0..<2 {
                try await client.execute(uri: "/api/v1/events", method: .post, body: try body(batch)) { #expect($0.status == .ok) }
            }
            // Segment: 1 accepted.
            let seg: [String: Any] = ["batch": [["type": "track", "event": "User Message", "messageId": "mx-seg",
                                                 "properties": ["session_id": "ms2", "agent_id": "metrics-a"]]]]
            try await client.execute(uri: "/v1/batch", method: .post, body: try body(seg)) { #expect($0.status == .ok) }
            let after = try await scrape(client)
            #expect(delta(#"insights_events_total{source="http",outcome="accepted"}"#, after) >= 2)
            #expect(delta(#"insights_events_total{source="http",outcome="duplicate"}"#, after) >= 2)
            #expect(delta(#"insights_events_total{source="http",outcome="rejected"}"#, after) >= 2)
            #expect(delta(#"insights_events_total{source="segment",outcome="accepted"}"#, after) >= 1)
            // Requests by route and status (Hummingbird's middleware), the latency histogram beside them.
            #expect(delta(#"hb_requests_total{http_route="/api/v1/events",http_request_method="POST",http_response_status_code="200"}"#, after) >= 2
                || delta(#"hb_requests{http_route="/api/v1/events",http_request_method="POST",http_response_status_code="200"}"#, after) >= 2,
                    "\(after.keys.filter { $0.hasPrefix("hb_") }.sorted())")
            // This test's agent: its lag from Redis (4 entries in the stream, no worker ran).
            #expect(after[#"insights_worker_lag{agent="metrics-a"}"#] == 3)
            #expect(after[#"insights_dead_letters{agent="metrics-a"}"#] == 0)
            #expect(after["insights_redis_up"] == 1)
            try await f.drain(agents: ["metrics-a"])
            let drained = try await scrape(client)
            #expect(drained[#"insights_worker_lag{agent="metrics-a"}"#] == 0)
            #expect(delta("insights_worker_entries_applied_total", drained) >= 3)
        }
    }

    @Test func onlyAdminKeysForEveryAgent() async throws {
        var config = ServerConfiguration(port: 0)
        config.apiKeys = try K.store()
        try await f.app(config).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: K.bearer(K.acmeRead)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/metrics", method: .get, headers: K.bearer(K.acmeAdmin)) { r in
                #expect(r.status == .forbidden && (try? object(r))?["detail"] as? String == "GET /metrics shows every agent: it needs an admin key for all agents (agents=*)")
            }
            _ = try await scrape(client, headers: K.bearer(K.root))
        }
    }
}
