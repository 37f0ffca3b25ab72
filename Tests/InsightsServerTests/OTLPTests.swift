import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
@testable import InsightsServer
import InsightsTestSupport
import OTLPProto
import RedisClient
import SwiftProtobuf
import Testing

/// `POST /v1/traces` over HTTP with a private Redis (docs/ingest.md, *OpenTelemetry*): protobuf and
/// OTLP/JSON bodies of the same spans, gzip, partial success, de-dup of a re-export, the metrics by
/// value, and every refusal answered with a google.rpc.Status.
@Suite("OTLP trace ingest")
struct OTLPTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    typealias M = OTLPMappingTests

    /// Three traces of agent `bot-a` (the resource's service.name), an hour ago (T):
    /// - trace A, conversation c1 on its root: chat T+0…T+1.2 s (100 in, 20 out), tool lookup_order
    ///   T+2…T+2.3 s failed with error.type timeout, chat T+5…T+5.8 s (150 in, 30 out), the root
    ///   invoke_agent span (ignored);
    /// - trace B, no conversation anywhere: one chat span, rejected;
    /// - trace C, session.id c2: chat T+10…T+10.4 s (50 in, 10 out).
    /// Events: 3 chats × 2 + 1 api_call + 1 error = 8; messages 6; conversations 2; mean response
    /// time (1200 + 800 + 400) / 3 = 800 ms; tokens 300 in, 60 out; 1 api call, failed; 1 error `timeout`.
    var request: Insights_Otlp_ExportTraceServiceRequest {
        let base = UInt64(f.nowMs - 3_600_000) * 1_000_000
        func at(_ s: Insights_Otlp_Span, _ offsetMs: UInt64) -> Insights_Otlp_Span {
            var x = s
            let d = x.endTimeUnixNano - x.startTimeUnixNano
            x.startTimeUnixNano = base + offsetMs * 1_000_000
            x.endTimeUnixNano = x.startTimeUnixNano + d
            return x
        }
        let b = Data(repeating: 0xbb, count: 16), c = Data(repeating: 0xcc, count: 16)
        let spans = [
            at(M.span(1, durationNs: 1_200_000_000, ["gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100,
                                                      "gen_ai.usage.output_tokens": 20, "gen_ai.request.model": "m1"]), 0),
            at(M.span(2, durationNs: 300_000_000, error: ("timeout", "deadline"), ["gen_ai.operation.name": "execute_tool",
                                                                                  "gen_ai.tool.name": "lookup_order"]), 2000),
            at(M.span(3, durationNs: 800_000_000, ["gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 150,
                                                    "gen_ai.usage.output_tokens": 30]), 5000),
            at(M.span(4, durationNs: 6_000_000_000, ["gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "c1"]), 0),
            at(M.span(5, trace: b, ["gen_ai.operation.name": "chat"]), 1000),
            at(M.span(6, trace: c, durationNs: 400_000_000, ["gen_ai.operation.name": "chat", "session.id": "c2",
                                                              "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 10]), 10_000),
        ]
        return M.request(spans)
    }

    func post(_ client: some TestClientProtocol, _ bytes: [UInt8], type: String = "application/x-protobuf", gzip: Bool = false,
              headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, String?, [UInt8]) {
        var h = headers
        h[.contentType] = type
        var body = bytes
        if gzip {
            body = Array(try SegmentTests.gzip(Data(bytes)))
            h[.contentEncoding] = "gzip"
        }
        return try await client.execute(uri: "/v1/traces", method: .post, headers: h, body: ByteBuffer(bytes: body)) { r in
            (r.status, r.headers[.contentType], Array(r.body.readableBytesView))
        }
    }

    /// The request in OTLP/JSON as the SDKs write it: lowerCamelCase, ids in hex, enums as numbers.
    func otlpJSON(_ r: Insights_Otlp_ExportTraceServiceRequest) throws -> [UInt8] {
        var options = JSONEncodingOptions()
        options.alwaysPrintEnumsAsInts = true
        let text = try r.jsonString(options: options)
        // The protobuf JSON mapping writes bytes in base64; OTLP/JSON in hex.
        var root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        func hexify(_ v: Any) -> Any {
            if let a = v as? [Any] { return a.map(hexify) }
            guard let o = v as? [String: Any] else { return v }
            var out: [String: Any] = [:]
            for (k, x) in o {
                if ["traceId", "spanId"].contains(k), let s = x as? String, let d = Data(base64Encoded: s) {
                    out[k] = d.map { String(format: "%02x", $0) }.joined()
                } else {
                    out[k] = hexify(x)
                }
            }
            return out
        }
        root = hexify(root) as! [String: Any]
        return Array(try JSONSerialization.data(withJSONObject: root))
    }

    @Test func protobufThenTheSameSpansInJSONCountOnce() async throws {
        let req = request
        try await f.app().test(.router) { client in
            let (status, type, body) = try await post(client, try req.serializedBytes())
            #expect(status == .ok && type == "application/x-protobuf")
            let answer = try Insights_Otlp_ExportTraceServiceResponse(serializedBytes: body)
            #expect(answer.partialSuccess.rejectedSpans == 1)
            #expect(answer.partialSuccess.errorMessage == "resource_spans[0].scope_spans[0].spans[4]: no gen_ai.conversation.id (or session.id) on the span or its trace")
            let m = try await analytics(client, "conversations/metrics?agent_id=bot-a")
            #expect(m["total_conversations"] as? Int == 2 && m["total_messages"] as? Int == 6 && m["total_events"] as? Int == 8)
            #expect(m["avg_response_time_ms"] as? Double == 800)
            #expect(m["total_input_tokens"] as? Int == 300 && m["total_output_tokens"] as? Int == 60)
            // Re-exported as OTLP/JSON, gzipped: the same event ids, nothing counted twice.
            let (again, jtype, jbody) = try await post(client, try otlpJSON(req), type: "application/json", gzip: true)
            #expect(again == .ok && jtype == "application/json")
            let janswer = try #require(try JSONSerialization.jsonObject(with: Data(jbody)) as? [String: Any])
            #expect((janswer["partialSuccess"] as? [String: Any])?["rejectedSpans"] as? String == "1")
            let m2 = try await analytics(client, "conversations/metrics?agent_id=bot-a")
            #expect(m2["total_events"] as? Int == 8 && m2["total_input_tokens"] as? Int == 300)
            try await f.drain(agents: ["bot-a"])
            let s = try await analytics(client, "system/metrics?agent_id=bot-a")
            #expect(s["api_calls"] as? Int == 1 && s["api_failures"] as? Int == 1)
            #expect(s["errors"] as? Int == 1 && (s["error_codes"] as? [String: Int]) == ["timeout": 1])
            #expect(((s["endpoints"] as? [String: Any])?["lookup_order"] as? [String: Any])?["failures"] as? Int == 1)
            // Both conversations finalized, one with an error.
            #expect(s["conversations_with_errors"] as? Int == 1 && s["finalized_conversations"] as? Int == 2)
            // The journey of c1 holds the spans' events in time order.
            let j = try await analytics(client, "users/journey/c1?agent_id=bot-a")
            let types = (j["journey"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
            #expect(types == ["user_message", "bot_response", "api_call", "error", "user_message", "bot_response"])
            // A request without a rejected span answers an empty ExportTraceServiceResponse.
            var clean = req
            clean.resourceSpans[0].scopeSpans[0].spans.remove(at: 4)
            let (ok, _, okBody) = try await post(client, try clean.serializedBytes())
            #expect(ok == .ok && okBody.isEmpty)
            let (okj, _, okjBody) = try await post(client, try otlpJSON(clean), type: "application/json; charset=utf-8")
            #expect(okj == .ok && String(decoding: okjBody, as: UTF8.self) == "{}")
        }
    }

    @Test func refusalsAnswerAStatus() async throws {
        try await f.app().test(.router) { client in
            // Not protobuf: 400 with a protobuf google.rpc.Status (INVALID_ARGUMENT).
            let (s1, t1, b1) = try await post(client, [0xff, 0xff, 0xff])
            #expect(s1 == .badRequest && t1 == "application/x-protobuf")
            let st = try Insights_Otlp_RpcStatus(serializedBytes: b1)
            #expect(st.code == 3 && st.message.hasPrefix("malformed protobuf"))
            // JSON: the Status's code and message beside the API's error and detail.
            let (s2, _, b2) = try await post(client, Array("{\"resourceSpans\": [".utf8), type: "application/json")
            let o2 = try #require(try JSONSerialization.jsonObject(with: Data(b2)) as? [String: Any])
            #expect(s2 == .badRequest && o2["code"] as? Int == 3 && o2["error"] as? String == "malformed JSON")
            let bad = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0000000000000001"}]}]}]}"#
            let (s3, _, b3) = try await post(client, Array(bad.utf8), type: "application/json")
            let o3 = try #require(try JSONSerialization.jsonObject(with: Data(b3)) as? [String: Any])
            #expect(s3 == .badRequest && (o3["detail"] as? String)?.contains("traceId must be a hex string") == true)
            let (s4, _, b4) = try await post(client, Array(#"{"resourceSpans": 5}"#.utf8), type: "application/json")
            let o4 = try #require(try JSONSerialization.jsonObject(with: Data(b4)) as? [String: Any])
            #expect(s4 == .badRequest && o4["error"] as? String == "invalid request")
            // Another media type or encoding.
            let (s5, _, _) = try await post(client, Array("x".utf8), type: "text/plain")
            #expect(s5 == .unsupportedMediaType)
            let (s6, _, _) = try await post(client, [], headers: [.contentEncoding: "br"])
            #expect(s6 == .unsupportedMediaType)
            let (s7, _, b7) = try await post(client, Array("not gzip".utf8), headers: [.contentEncoding: "gzip"])
            let st7 = try Insights_Otlp_RpcStatus(serializedBytes: b7)
            #expect(s7 == .badRequest && st7.message.hasPrefix("malformed gzip body"))
            // An empty request is a valid export of nothing.
            let (s8, _, b8) = try await post(client, [])
            #expect(s8 == .ok && b8.isEmpty)
            // A span whose event breaks the event rules (a session id with a space) is rejected whole.
            var r = M.request([M.span(1, ["gen_ai.operation.name": "chat", "session.id": "has space"])])
            r.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano = UInt64(f.nowMs - 60_000) * 1_000_000
            r.resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano = UInt64(f.nowMs - 59_000) * 1_000_000
            let (s9, _, b9) = try await post(client, try r.serializedBytes())
            let a9 = try Insights_Otlp_ExportTraceServiceResponse(serializedBytes: b9)
            #expect(s9 == .ok && a9.partialSuccess.rejectedSpans == 1 && a9.partialSuccess.errorMessage.contains("session_id"))
            let m = try await analytics(client, "conversations/metrics?agent_id=bot-a")
            #expect(m["total_events"] as? Int == 0)
        }
    }

    @Test func keysAuthorizeTheSpansAgents() async throws {
        var config = ServerConfiguration(port: 0)
        config.apiKeys = try K.store()
        var req = request
        req.resourceSpans[0].resource.attributes = [M.kv("service.name", "acme")]
        let bytes: [UInt8] = try req.serializedBytes()
        try await f.app(config).test(.router) { client in
            let (s0, _, _) = try await post(client, bytes)
            #expect(s0 == .unauthorized)
            let auth: HTTPFields = [.authorization: "Bearer \(K.acmeIngest)"]
            let (s1, _, _) = try await post(client, bytes, headers: auth)
            #expect(s1 == .ok)
            // A span of another agent refuses the whole request (403, PERMISSION_DENIED), nothing written.
            var other = M.request(service: "other", [M.span(9, ["gen_ai.operation.name": "chat", "session.id": "z"])])
            other.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano = UInt64(f.nowMs - 60_000) * 1_000_000
            other.resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano = UInt64(f.nowMs - 59_000) * 1_000_000
            let (s2, _, b2) = try await post(client, try other.serializedBytes(), headers: auth)
            let st2 = try Insights_Otlp_RpcStatus(serializedBytes: b2)
            #expect(s2 == .forbidden && st2.code == 7)
        }
    }
}
