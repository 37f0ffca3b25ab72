import Foundation
import InsightsModel
import OTLPProto

/// OpenTelemetry traces (docs/ingest.md, *OpenTelemetry*): how the spans of an OTLP export become
/// Insights events, by the GenAI semantic conventions. Pure: the controller decodes the request and
/// gives the fallbacks; each event made here is then decoded and validated by the same rules as
/// `POST /api/v1/events` (``EventDecoding``). A span is taken whole or rejected whole.
public enum OTLPMapping {
    /// What the controller knows beside the request.
    public struct Context: Sendable {
        /// The agent of a key limited to exactly one agent.
        public var keyAgent: String?
        /// `--default-agent`.
        public var defaultAgent: String?

        public init(keyAgent: String? = nil, defaultAgent: String? = nil) {
            self.keyAgent = keyAgent
            self.defaultAgent = defaultAgent
        }
    }

    /// What one span became.
    public enum Outcome: Sendable, Equatable {
        /// The span's events, in the form of `POST /api/v1/events`, in time order.
        case events([[String: JSONValue]])
        /// A span of no mapped operation, without an error: taken, carries no event.
        case ignored
        /// Refused, with the reason.
        case rejected(String)
    }

    /// One span's outcome with where it was in the request (resource, scope, span indexes).
    public struct Mapped: Sendable, Equatable {
        public var position: String
        public var outcome: Outcome
    }

    /// `gen_ai.operation.name` values that are a model call: a user message and the bot's answer.
    public static let modelOperations: Set<String> = ["chat", "text_completion", "generate_content"]
    /// A tool call: an `api_call`.
    public static let toolOperation = "execute_tool"
    /// The longest status message kept in an error event's `data.message`.
    public static let maxMessageLength = 256

    /// Maps every span of the request, in request order.
    public static func map(_ request: Insights_Otlp_ExportTraceServiceRequest, context: Context) -> [Mapped] {
        // Conversation and agent of each trace: a span without its own takes the first one of
        // another span of the same trace in this request (SDKs often set them on the root span only).
        var traceSession: [Data: String] = [:], traceAgent: [Data: String] = [:]
        let attributes = request.resourceSpans.map { rs in rs.scopeSpans.map { ss in ss.spans.map { Attributes($0.attributes) } } }
        for (r, rs) in request.resourceSpans.enumerated() {
            for (s, ss) in rs.scopeSpans.enumerated() {
                for (i, span) in ss.spans.enumerated() {
                    let a = attributes[r][s][i]
                    if traceSession[span.traceID] == nil, let s = a.session { traceSession[span.traceID] = s }
                    if traceAgent[span.traceID] == nil, let g = a.agent { traceAgent[span.traceID] = g }
                }
            }
        }
        var out: [Mapped] = []
        for (r, rs) in request.resourceSpans.enumerated() {
            let service = Attributes(rs.resource.attributes).string("service.name").flatMap { name in
                // The SDKs' default when none is configured ("unknown_service:python") names no agent.
                name.hasPrefix("unknown_service") ? nil : name
            }
            for (s, ss) in rs.scopeSpans.enumerated() {
                for (i, span) in ss.spans.enumerated() {
                    let a = attributes[r][s][i]
                    let session = a.session ?? traceSession[span.traceID]
                    let agent = a.agent ?? traceAgent[span.traceID] ?? service ?? context.keyAgent ?? context.defaultAgent
                    out.append(Mapped(position: "resource_spans[\(r)].scope_spans[\(s)].spans[\(i)]",
                                      outcome: map(span, attributes: a, session: session, agent: agent)))
                }
            }
        }
        return out
    }

    /// One span, given its conversation and agent.
    static func map(_ span: Insights_Otlp_Span, attributes a: Attributes, session: String?, agent: String?) -> Outcome {
        guard span.traceID.count == 16, span.traceID.contains(where: { $0 != 0 }) else { return .rejected("trace_id must be 16 bytes, not all zero") }
        guard span.spanID.count == 8, span.spanID.contains(where: { $0 != 0 }) else { return .rejected("span_id must be 8 bytes, not all zero") }
        let operation = a.string("gen_ai.operation.name")
        let failed = span.status.code == .error
        let isModel = operation.map(modelOperations.contains) ?? false
        let isTool = operation == toolOperation
        guard isModel || isTool || failed else { return .ignored }
        guard let session else { return .rejected("no gen_ai.conversation.id (or session.id) on the span or its trace") }
        guard let agent else { return .rejected("no agent: set gen_ai.agent.id, gen_ai.agent.name or the resource's service.name") }
        guard span.startTimeUnixNano > 0, span.endTimeUnixNano >= span.startTimeUnixNano else {
            return .rejected("the span's end_time_unix_nano must not be before its start_time_unix_nano (nor the start 0)")
        }
        let startMs = Int64(span.startTimeUnixNano / 1_000_000), endMs = Int64(span.endTimeUnixNano / 1_000_000)
        // Rounded to the nearest millisecond, from the nanoseconds (not the two truncated times).
        let durationMs = Int(((span.endTimeUnixNano - span.startTimeUnixNano) + 500_000) / 1_000_000)
        let idBase = "otel:" + Hex.encode(span.traceID) + ":" + Hex.encode(span.spanID) + ":"

        func event(_ type: EventType, _ suffix: String, _ ms: Int64, _ data: [String: JSONValue] = [:]) -> [String: JSONValue] {
            var e: [String: JSONValue] = [
                "event_id": .string(idBase + suffix), "event_type": .string(type.rawValue), "session_id": .string(session),
                "agent_id": .string(agent), "timestamp": .string(ISO8601.format(ms: ms)),
            ]
            if let user = a.string("user.id") ?? a.string("enduser.id") { e["user_id"] = .string(user) }
            if !data.isEmpty { e["data"] = .object(data) }
            return e
        }

        var events: [[String: JSONValue]] = []
        if isModel {
            events.append(event(.userMessage, "u", startMs))
            var data: [String: JSONValue] = [:]
            if let m = a.string("gen_ai.response.model") ?? a.string("gen_ai.request.model") { data["model"] = .string(m) }
            if let p = a.string("gen_ai.provider.name") ?? a.string("gen_ai.system") { data["provider"] = .string(p) }
            if let n = a.count("gen_ai.usage.input_tokens") { data[EventCounters.inputTokensKey] = .number(Double(n)) }
            if let n = a.count("gen_ai.usage.output_tokens") { data[EventCounters.outputTokensKey] = .number(Double(n)) }
            var b = event(.botResponse, "b", endMs, data)
            b["response_time_ms"] = .number(Double(durationMs))
            events.append(b)
        } else if isTool {
            var data: [String: JSONValue] = ["success": .bool(!failed)]
            data["endpoint"] = .string(a.string("gen_ai.tool.name") ?? span.name)
            var t = event(.apiCall, "t", startMs, data)
            t["duration_ms"] = .number(Double(durationMs))
            events.append(t)
        }
        if failed {
            var data: [String: JSONValue] = [:]
            let message = span.status.message
            if let code = a.string("error.type") ?? (message.isEmpty ? nil : message) { data["code"] = .string(code) }
            if !message.isEmpty { data["message"] = .string(String(message.prefix(maxMessageLength))) }
            if let op = operation { data["operation"] = .string(op) }
            events.append(event(.error, "e", endMs, data))
        }
        return .events(events)
    }

    /// A span's (or resource's) attributes by key; the first of a repeated key wins.
    struct Attributes {
        var values: [String: Insights_Otlp_AnyValue] = [:]

        init(_ list: [Insights_Otlp_KeyValue]) {
            for kv in list where values[kv.key] == nil && kv.hasValue { values[kv.key] = kv.value }
        }

        /// A string value; an integer is taken as its decimal form (ids sent as numbers).
        func string(_ key: String) -> String? {
            switch values[key]?.value {
            case .stringValue(let s)?: s.isEmpty ? nil : s
            case .intValue(let i)?: String(i)
            default: nil
            }
        }

        /// A non-negative integer (token counts): an int, an integral double or a decimal string.
        func count(_ key: String) -> Int? {
            switch values[key]?.value {
            case .intValue(let i)?: i >= 0 ? Int(exactly: i) : nil
            case .doubleValue(let d)?: d >= 0 && d < 9e15 && d == d.rounded() ? Int(d) : nil
            case .stringValue(let s)?: Int(s).flatMap { $0 >= 0 ? $0 : nil }
            default: nil
            }
        }

        var session: String? { string("gen_ai.conversation.id") ?? string("session.id") }
        var agent: String? { string("gen_ai.agent.id") ?? string("gen_ai.agent.name") }
    }
}
