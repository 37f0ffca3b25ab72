import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
@testable import InsightsServer
import InsightsTestSupport
import RedisClient
import Testing

/// Segment's HTTP API over HTTP (docs/ingest.md, *Segment*): batches and single messages, partial
/// acceptance, de-dup of a re-sent batch, gzip, Segment's limits, Basic auth with the write key.
@Suite("Segment ingest")
struct SegmentTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    func track(_ id: String, _ event: String, session: String, agent: String? = "seg", props: [String: Any] = [:], sec: Int64 = 0) -> [String: Any] {
        var p = props
        p["session_id"] = session
        if let agent { p["agent_id"] = agent }
        return ["type": "track", "event": event, "messageId": id, "userId": "u1", "properties": p,
                "timestamp": ISO8601.format(ms: f.nowMs - 3_600_000 + sec * 1000)]
    }

    func post(_ client: some TestClientProtocol, _ path: String, _ json: Any, headers: HTTPFields = HTTPFields(),
              gzip: Bool = false) async throws -> (HTTPResponse.Status, [String: Any]) {
        var h = headers
        var bytes = try (json as? Data) ?? JSONSerialization.data(withJSONObject: json)
        if gzip {
            bytes = try Self.gzip(bytes)
            h[.contentEncoding] = "gzip"
        }
        return try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(bytes: bytes)) { r in
            (r.status, (try? object(r)) ?? [:])
        }
    }

    /// gzip through the system's gzip(1), so that the test does not use the code under test.
    static func gzip(_ data: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-c"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return out
    }

    @Test func batchesPartialAcceptanceDedupAndSingleMessages() async throws {
        let batch: [String: Any] = ["batch": [
            track("m1", "Conversation Start", session: "s1"),
            track("m2", "User Message", session: "s1", props: ["channel": "web"], sec: 1),
            track("m3", "Bot Response", session: "s1", props: ["responseTimeMs": 250], sec: 2),
            ["type": "identify", "userId": "u1", "traits": ["plan": "pro"]],
            track("m4", "User Message", session: "", sec: 3),
            track("m5", "Order Completed", session: "s1", props: ["total": 30], sec: 4),
        ], "sentAt": ISO8601.format(ms: f.nowMs)]
        let body = try JSONSerialization.data(withJSONObject: batch)
        try await f.app().test(.router) { client in
            let (status, r) = try await post(client, "/v1/batch", body)
            #expect(status == .ok && r["success"] as? Bool == true)
            #expect(r["accepted"] as? Int == 4 && r["ignored"] as? Int == 1 && r["duplicates"] as? Int == 0)
            let rejected = try #require(r["rejected"] as? [[String: Any]])
            #expect(rejected.count == 1 && rejected[0]["index"] as? Int == 4)
            #expect((rejected[0]["error"] as? String)?.contains("session_id") == true)
            // The SDK re-sends the same batch (same messageIds): nothing counts twice.
            let (again, r2) = try await post(client, "/v1/batch", body, gzip: true)
            #expect(again == .ok && r2["accepted"] as? Int == 0 && r2["duplicates"] as? Int == 4)
            let m = try await analytics(client, "conversations/metrics?agent_id=seg")
            #expect(m["total_conversations"] as? Int == 1 && m["total_messages"] as? Int == 2 && m["total_events"] as? Int == 4)
            #expect(m["avg_response_time_ms"] as? Double == 250)
            // Single-message routes: the route names the type.
            let (one, r3) = try await post(client, "/v1/track", ["event": "user_message", "messageId": "m6",
                                                                "properties": ["session_id": "s2", "agent_id": "seg"]])
            #expect(one == .ok && r3["accepted"] as? Int == 1)
            let (ident, r4) = try await post(client, "/v1/identify", ["userId": "u1", "traits": [:]])
            #expect(ident == .ok && r4["ignored"] as? Int == 1 && r4["accepted"] as? Int == 0)
            for route in ["page", "screen", "group", "alias"] {
                let (s, r) = try await post(client, "/v1/" + route, ["userId": "u1"])
                #expect(s == .ok && r["ignored"] as? Int == 1, "\(route)")
            }
            // Nothing valid: a 400 naming the problems.
            let (bad, r5) = try await post(client, "/v1/batch", ["batch": [track("m7", "user_message", session: "s3", agent: nil)]])
            #expect(bad == .badRequest && r5["error"] as? String == "invalid message")
            #expect((r5["detail"] as? String)?.contains("message 0: no agent") == true)
        }
    }

    @Test func malformedBodiesAndLimits() async throws {
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/v1/batch", method: .post, body: ByteBuffer(string: "{\"batch\": [")) { r in
                #expect(r.status == .badRequest && (try? object(r))?["error"] as? String == "malformed JSON")
            }
            let (s1, r1) = try await post(client, "/v1/batch", ["events": []])
            #expect(s1 == .badRequest && r1["error"] as? String == "invalid batch")
            var h = HTTPFields()
            h[.contentEncoding] = "gzip"
            try await client.execute(uri: "/v1/batch", method: .post, headers: h, body: ByteBuffer(string: "not gzip")) { r in
                #expect(r.status == .badRequest && (try? object(r))?["error"] as? String == "malformed gzip body")
            }
            h[.contentEncoding] = "br"
            try await client.execute(uri: "/v1/batch", method: .post, headers: h, body: ByteBuffer(string: "{}")) { r in
                #expect(r.status == .unsupportedMediaType)
            }
            // Over 500 KB once decompressed (a small gzip body): Segment's 400.
            let pad = String(repeating: "a", count: 30_000)
            let big: [String: Any] = ["batch": (0..<20).map { track("b\($0)", "user_message", session: "s", props: ["pad": pad]) }]
            let (s2, r2) = try await post(client, "/v1/batch", big, gzip: true)
            #expect(s2 == .badRequest && r2["error"] as? String == "batch too large")
            // One message over 32 KB is rejected alone.
            let mixed: [String: Any] = ["batch": [track("c1", "user_message", session: "s", props: ["pad": pad + pad]),
                                                  track("c2", "user_message", session: "s")]]
            let (s3, r3) = try await post(client, "/v1/batch", mixed)
            #expect(s3 == .ok && r3["accepted"] as? Int == 1)
            #expect(((r3["rejected"] as? [[String: Any]])?.first?["error"] as? String)?.contains("at most 32768") == true)
        }
    }

    @Test func basicAuthWithTheWriteKeyAndAgentFallbacks() async throws {
        var config = ServerConfiguration(port: 0)
        config.apiKeys = try K.store()
        config.defaultAgent = "fallback"
        @Sendable func basic(_ key: String) -> HTTPFields {
            var h = HTTPFields()
            h[.authorization] = "Basic " + Data((key + ":").utf8).base64EncodedString()
            return h
        }
        let noAgent = try JSONSerialization.data(withJSONObject: ["batch": [track("k1", "user_message", session: "s", agent: nil)]])
        try await f.app(config).test(.router) { client in
            // A key limited to one agent: messages without agent_id are that agent's.
            let (s1, r1) = try await post(client, "/v1/batch", noAgent, headers: basic(K.acmeIngest))
            #expect(s1 == .ok && r1["accepted"] as? Int == 1)
            let acme = try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme", method: .get,
                                                headers: K.bearer(K.acmeRead)) { try object($0) }
            #expect(acme["total_events"] as? Int == 1)
            // A key for every agent: the configured default agent.
            let (s2, r2) = try await post(client, "/v1/batch", ["batch": [track("k2", "user_message", session: "s", agent: nil)]],
                                          headers: basic(K.root))
            #expect(s2 == .ok && r2["accepted"] as? Int == 1)
            // Another agent than the key's: 403, nothing written; an unknown key: 401; no ingest scope: 403.
            let (s3, _) = try await post(client, "/v1/batch", ["batch": [track("k3", "user_message", session: "s", agent: "other")]],
                                         headers: basic(K.acmeIngest))
            #expect(s3 == .forbidden)
            let (s4, _) = try await post(client, "/v1/batch", noAgent, headers: basic(K.wrong))
            #expect(s4 == .unauthorized)
            let (s5, _) = try await post(client, "/v1/batch", noAgent, headers: basic(K.acmeRead))
            #expect(s5 == .forbidden)
            let (s6, _) = try await post(client, "/v1/batch", noAgent)
            #expect(s6 == .unauthorized)
            let (s7, r7) = try await post(client, "/v1/batch", ["batch": [track("k4", "user_message", session: "s", agent: nil)]],
                                          headers: K.bearer(K.acmeIngest))
            #expect(s7 == .ok && r7["accepted"] as? Int == 1)
        }
        let fallback = try await f.client.send("EXISTS", key: AgentKeys("fallback").stream).int
        #expect(fallback == 1)
    }
}
