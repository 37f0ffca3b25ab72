import Foundation
import InsightsModel
@testable import InsightsServer
import OTLPProto
import Testing

/// Every rule of the OTLP mapping (docs/ingest.md, *OpenTelemetry*) and every rejection, on spans
/// built field by field.
@Suite("OTLP mapping")
struct OTLPMappingTests {
    static let t0: UInt64 = 1_780_000_000_000_000_000  // ns
    static let traceA = Data((1...16).map { UInt8($0) })
    static let hexA = "0102030405060708090a0b0c0d0e0f10"

    static func kv(_ key: String, _ v: Any) -> Insights_Otlp_KeyValue {
        var k = Insights_Otlp_KeyValue()
        k.key = key
        switch v {
        case let s as String: k.value.stringValue = s
        case let i as Int: k.value.intValue = Int64(i)
        case let d as Double: k.value.doubleValue = d
        case let b as Bool: k.value.boolValue = b
        default: fatalError("unsupported attribute \(v)")
        }
        return k
    }

    static func span(_ id: UInt8, trace: Data = traceA, name: String = "span", startMs: UInt64 = 0, durationNs: UInt64 = 1_000_000,
                     error: (String?, String)? = nil, _ attrs: [String: Any]) -> Insights_Otlp_Span {
        var s = Insights_Otlp_Span()
        s.traceID = trace
        s.spanID = Data([0, 0, 0, 0, 0, 0, 0, id])
        s.name = name
        s.startTimeUnixNano = t0 + startMs * 1_000_000
        s.endTimeUnixNano = s.startTimeUnixNano + durationNs
        s.attributes = attrs.sorted { $0.key < $1.key }.map { kv($0.key, $0.value) }
        if let (type, message) = error {
            s.status.code = .error
            s.status.message = message
            if let type { s.attributes.append(kv("error.type", type)) }
        }
        return s
    }

    static func request(service: String? = "bot-a", _ spans: [Insights_Otlp_Span]) -> Insights_Otlp_ExportTraceServiceRequest {
        var rs = Insights_Otlp_ResourceSpans()
        if let service { rs.resource.attributes = [kv("service.name", service)] }
        var ss = Insights_Otlp_ScopeSpans()
        ss.spans = spans
        rs.scopeSpans = [ss]
        var r = Insights_Otlp_ExportTraceServiceRequest()
        r.resourceSpans = [rs]
        return r
    }

    func outcomes(_ r: Insights_Otlp_ExportTraceServiceRequest, _ c: OTLPMapping.Context = .init()) -> [OTLPMapping.Outcome] {
        OTLPMapping.map(r, context: c).map(\.outcome)
    }

    func events(_ o: OTLPMapping.Outcome) throws -> [[String: JSONValue]] {
        guard case .events(let e) = o else { Issue.record("expected events, got \(o)"); return [] }
        return e
    }

    @Test func chatSpanIsAUserMessageAndTheBotsAnswer() throws {
        let s = Self.span(1, startMs: 250, durationNs: 1_234_600_000, [
            "gen_ai.operation.name": "chat", "gen_ai.conversation.id": "conv-1", "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 45, "user.id": "u-9",
        ])
        let e = try events(try #require(outcomes(Self.request([s])).first))
        #expect(e.count == 2)
        let start = Int64(Self.t0 / 1_000_000) + 250
        #expect(e[0]["event_type"] == .string("user_message") && e[0]["timestamp"] == .string(ISO8601.format(ms: start)))
        #expect(e[0]["event_id"] == .string("otel:\(Self.hexA):0000000000000001:u"))
        #expect(e[0]["session_id"] == .string("conv-1") && e[0]["agent_id"] == .string("bot-a") && e[0]["user_id"] == .string("u-9"))
        #expect(e[0]["data"] == nil)
        // End = start + 1 234.6 ms: the end's millisecond is 1 234 later, the duration rounds to 1 235.
        #expect(e[1]["event_type"] == .string("bot_response") && e[1]["timestamp"] == .string(ISO8601.format(ms: start + 1234)))
        #expect(e[1]["response_time_ms"] == .number(1235) && e[1]["event_id"] == .string("otel:\(Self.hexA):0000000000000001:b"))
        #expect(e[1]["data"] == .object(["model": .string("gpt-4o-2024-08-06"), "provider": .string("openai"),
                                         "input_tokens": .number(120), "output_tokens": .number(45)]))
        // The other model operations map alike; gen_ai.system stands in for the provider, the request model for the response's.
        for op in ["text_completion", "generate_content"] {
            let t = Self.span(2, [
                "gen_ai.operation.name": op, "session.id": "s", "gen_ai.system": "vertex_ai", "gen_ai.request.model": "gemini",
            ])
            let x = try events(try #require(outcomes(Self.request([t])).first))
            #expect(x.map { $0["event_type"] } == [.string("user_message"), .string("bot_response")], "\(op)")
            #expect(x[1]["data"] == .object(["model": .string("gemini"), "provider": .string("vertex_ai")]))
        }
    }

    @Test func toolSpansAreAPICallsAndErrorsAreErrorEvents() throws {
        let ok = Self.span(3, name: "execute_tool lookup", startMs: 10, durationNs: 300_400_000, [
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order", "gen_ai.conversation.id": "c",
        ])
        let failed = Self.span(4, name: "execute_tool refund", durationNs: 2_000_000, error: ("timeout", "upstream timed out"), [
            "gen_ai.operation.name": "execute_tool", "gen_ai.conversation.id": "c",
        ])
        let o = outcomes(Self.request([ok, failed]))
        let a = try events(o[0])
        #expect(a.count == 1 && a[0]["event_type"] == .string("api_call") && a[0]["duration_ms"] == .number(300))
        #expect(a[0]["data"] == .object(["endpoint": .string("lookup_order"), "success": .bool(true)]))
        #expect(a[0]["timestamp"] == .string(ISO8601.format(ms: Int64(Self.t0 / 1_000_000) + 10)))
        let b = try events(o[1])
        #expect(b.count == 2)
        // Without gen_ai.tool.name, the span's name is the endpoint.
        #expect(b[0]["data"] == .object(["endpoint": .string("execute_tool refund"), "success": .bool(false)]))
        #expect(b[1]["event_type"] == .string("error") && b[1]["event_id"] == .string("otel:\(Self.hexA):0000000000000004:e"))
        #expect(b[1]["data"] == .object(["code": .string("timeout"), "message": .string("upstream timed out"),
                                         "operation": .string("execute_tool")]))
        #expect(b[1]["timestamp"] == .string(ISO8601.format(ms: Int64(Self.t0 / 1_000_000) + 2)))
        // Any other span with status ERROR: only the error; without error.type the status message is the code (the message kept to 256).
        let long = String(repeating: "x", count: 300)
        let agentSpan = Self.span(5, name: "invoke_agent", error: (nil, long), ["gen_ai.operation.name": "invoke_agent", "session.id": "c"])
        let c = try events(try #require(outcomes(Self.request([agentSpan])).first))
        #expect(c.count == 1 && c[0]["event_type"] == .string("error"))
        #expect(c[0]["data"]?["code"] == .string(long) && c[0]["data"]?["message"] == .string(String(long.prefix(256))))
        // An error without a message or type: no code (counted as `unknown`).
        let bare = Self.span(6, error: (nil, ""), ["session.id": "c"])
        let d = try events(try #require(outcomes(Self.request([bare])).first))
        #expect(d[0]["data"] == nil)
    }

    @Test func spansOfNoMappedOperationAreIgnored() throws {
        let spans = [
            Self.span(1, ["gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "c"]),
            Self.span(2, ["gen_ai.operation.name": "embeddings", "gen_ai.conversation.id": "c"]),
            Self.span(3, ["http.method": "GET"]),  // no session either: ignored, not rejected
        ]
        #expect(outcomes(Self.request(spans)) == [.ignored, .ignored, .ignored])
    }

    @Test func sessionsComeFromTheSpanOrItsTrace() throws {
        let traceB = Data(repeating: 7, count: 16)
        let spans = [
            // The root carries the conversation; its child chat span in the same trace takes it.
            Self.span(1, ["gen_ai.operation.name": "chat"]),
            Self.span(2, ["gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "root-conv", "gen_ai.agent.id": "agent-x"]),
            // Its own wins over the trace's; an integer id is taken in decimal.
            Self.span(3, ["gen_ai.operation.name": "chat", "gen_ai.conversation.id": 42]),
            // session.id when there is no gen_ai.conversation.id.
            Self.span(4, trace: traceB, ["gen_ai.operation.name": "chat", "session.id": "sess-b"]),
            // A trace with none: rejected.
            Self.span(5, trace: Data(repeating: 9, count: 16), ["gen_ai.operation.name": "chat"]),
        ]
        let o = outcomes(Self.request(spans))
        #expect(try events(o[0])[0]["session_id"] == .string("root-conv"))
        #expect(try events(o[0])[0]["agent_id"] == .string("agent-x"))  // the trace's agent, before service.name
        #expect(o[1] == .ignored)
        #expect(try events(o[2])[0]["session_id"] == .string("42"))
        #expect(try events(o[3])[0]["session_id"] == .string("sess-b") && (try events(o[3]))[0]["agent_id"] == .string("bot-a"))
        #expect(o[4] == .rejected("no gen_ai.conversation.id (or session.id) on the span or its trace"))
    }

    @Test func agentFallbacks() throws {
        func agent(_ attrs: [String: Any], service: String?, _ c: OTLPMapping.Context = .init()) throws -> JSONValue? {
            var a = attrs
            a["gen_ai.operation.name"] = "chat"
            a["session.id"] = "s"
            let o = outcomes(Self.request(service: service, [Self.span(1, a)]), c)
            if case .rejected(let why) = o[0] { return .string("rejected: " + why) }
            return try events(o[0])[0]["agent_id"]
        }
        #expect(try agent(["gen_ai.agent.id": "id-1", "gen_ai.agent.name": "Name"], service: "svc") == .string("id-1"))
        #expect(try agent(["gen_ai.agent.name": "support-bot"], service: "svc") == .string("support-bot"))
        #expect(try agent([:], service: "svc") == .string("svc"))
        // The SDK's default service name names no agent: the key's only agent, then --default-agent.
        #expect(try agent([:], service: "unknown_service:python", .init(keyAgent: "keyed", defaultAgent: "dflt")) == .string("keyed"))
        #expect(try agent([:], service: nil, .init(defaultAgent: "dflt")) == .string("dflt"))
        #expect(try agent([:], service: "unknown_service") == .string(
            "rejected: no agent: set gen_ai.agent.id, gen_ai.agent.name or the resource's service.name"))
    }

    @Test func malformedSpansAreRejected() throws {
        var shortTrace = Self.span(1, ["gen_ai.operation.name": "chat", "session.id": "s"])
        shortTrace.traceID = Data(repeating: 1, count: 8)
        var zeroSpan = Self.span(2, ["gen_ai.operation.name": "chat", "session.id": "s"])
        zeroSpan.spanID = Data(repeating: 0, count: 8)
        var backwards = Self.span(3, ["gen_ai.operation.name": "chat", "session.id": "s"])
        backwards.endTimeUnixNano = backwards.startTimeUnixNano - 1
        var noStart = Self.span(4, ["gen_ai.operation.name": "chat", "session.id": "s"])
        noStart.startTimeUnixNano = 0
        let o = outcomes(Self.request([shortTrace, zeroSpan, backwards, noStart]))
        #expect(o[0] == .rejected("trace_id must be 16 bytes, not all zero"))
        #expect(o[1] == .rejected("span_id must be 8 bytes, not all zero"))
        #expect(o[2] == .rejected("the span's end_time_unix_nano must not be before its start_time_unix_nano (nor the start 0)"))
        #expect(o[3] == o[2])
        let positions = OTLPMapping.map(Self.request([shortTrace, zeroSpan]), context: .init()).map(\.position)
        #expect(positions == ["resource_spans[0].scope_spans[0].spans[0]", "resource_spans[0].scope_spans[0].spans[1]"])
    }

    @Test func tokenCountsAcceptIntegersInAnyAttributeForm() throws {
        func tokens(_ v: Any) throws -> JSONValue? {
            let s = Self.span(1, ["gen_ai.operation.name": "chat", "session.id": "s", "gen_ai.usage.input_tokens": v])
            return try events(outcomes(Self.request([s]))[0])[1]["data"]?["input_tokens"]
        }
        #expect(try tokens(7) == .number(7))
        #expect(try tokens(8.0) == .number(8))
        #expect(try tokens("9") == .number(9))
        #expect(try tokens(-1) == nil)
        #expect(try tokens(1.5) == nil)
        #expect(try tokens("many") == nil)
        // Counted by the event model: integers in 1...maxTokensPerEvent only.
        #expect(EventCounters.tokenCount(.number(5)) == 5)
        #expect(EventCounters.tokenCount(.number(0)) == nil && EventCounters.tokenCount(.number(2.5)) == nil)
        #expect(EventCounters.tokenCount(.number(Double(EventCounters.maxTokensPerEvent + 1))) == nil)
    }
}
