import Foundation
import Hummingbird
import InsightsQuery

/// CSV answers (RFC 4180) of the analytics endpoints that offer them: asked for with `format=csv`
/// or an `Accept` header that names `text/csv` (docs/api.md, *CSV*). A header row, then one row per
/// record, CRLF line ends, fields quoted when they hold a comma, quote or line break. A text field
/// that starts with `=`, `+`, `-` or `@` (a workflow name, say) is prefixed with `'` so that a
/// spreadsheet shows it instead of evaluating it as a formula.
enum CSV {
    /// Whether the request asks for CSV; 400 for a `format` other than `csv` or `json`.
    static func wanted(_ request: Request) throws -> Bool {
        if let f = request.uri.queryParameters.get("format"), !f.isEmpty {
            switch f {
            case "csv": return true
            case "json": return false
            default: throw APIError.badRequest("invalid parameter format", detail: "format must be csv or json (got \"\(f.prefix(40))\")")
            }
        }
        let accept = request.headers[.accept] ?? ""
        return accept.lowercased().contains("text/csv")
    }

    /// One text field.
    static func text(_ s: String) -> String {
        var v = s
        if let first = v.first, "=+-@".contains(first) { v = "'" + v }
        return quoted(v)
    }

    static func quoted(_ v: String) -> String {
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

    static func response(header: [String], rows: [[String]], filename: String) -> Response {
        var text = header.map(quoted).joined(separator: ",") + "\r\n"
        for r in rows { text += r.joined(separator: ",") + "\r\n" }
        var h = HTTPFields()
        h[.contentType] = "text/csv; charset=utf-8; header=present"
        h[.contentDisposition] = "attachment; filename=\"\(filename).csv\""
        return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

// The CSV forms of the analytics depth endpoints (docs/api.md, *CSV*).
extension CSV {
    /// `value,total_conversations,total_messages,avg_response_time_ms,fallback_rate,automation_rate`, by value.
    static func breakdown(_ x: Breakdown) -> Response {
        let rows = x.values.sorted(by: { $0.key < $1.key }).map { v, b in
            [text(v), String(b.totalConversations), String(b.totalMessages), number(b.avgResponseTimeMs), number(b.fallbackRate),
             number(b.automationRate)]
        }
        return response(header: [x.dimension, "total_conversations", "total_messages", "avg_response_time_ms", "fallback_rate",
                                 "automation_rate"], rows: rows, filename: "breakdown-" + x.dimension)
    }

    /// `metric,name,value`: the totals with an empty name, then one row per endpoint figure and error code.
    static func system(_ x: SystemMetrics) -> Response {
        var rows: [[String]] = [
            ["api_calls", "", String(x.apiCalls)], ["api_failures", "", String(x.apiFailures)],
            ["api_failure_rate", "", number(x.apiFailureRate)], ["api_p50_ms", "", number(x.apiP50Ms)],
            ["api_p95_ms", "", number(x.apiP95Ms)], ["errors", "", String(x.errors)],
            ["conversations_with_errors", "", String(x.conversationsWithErrors)],
            ["finalized_conversations", "", String(x.finalizedConversations)],
            ["conversations_with_errors_rate", "", number(x.conversationsWithErrorsRate)],
        ]
        for (name, e) in x.endpoints.sorted(by: { $0.key < $1.key }) {
            rows.append(["endpoint_calls", text(name), String(e.calls)])
            rows.append(["endpoint_failures", text(name), String(e.failures)])
            rows.append(["endpoint_failure_rate", text(name), number(e.failureRate)])
            rows.append(["endpoint_p95_ms", text(name), number(e.p95Ms)])
        }
        for (code, n) in x.errorCodes.sorted(by: { $0.key < $1.key }) { rows.append(["error_code", text(code), String(n)]) }
        return response(header: ["metric", "name", "value"], rows: rows, filename: "system")
    }

    /// `kind,name,count,avg_confidence,low_confidence_rate`: intents (kind `intent`), then entity types (kind `entity`, count only).
    static func intents(_ x: IntentMetrics) -> Response {
        var rows = x.intents.sorted(by: { $0.key < $1.key }).map { name, i in
            ["intent", text(name), String(i.count), number(i.avgConfidence), number(i.lowConfidenceRate)]
        }
        for (type, n) in x.entities.sorted(by: { $0.key < $1.key }) { rows.append(["entity", text(type), String(n), "", ""]) }
        return response(header: ["kind", "name", "count", "avg_confidence", "low_confidence_rate"], rows: rows,
                        filename: "intents")
    }

    /// `intent_1..intent_<depth>,sessions,ended,dropped,escalated`, most frequent first (a shorter path leaves the last columns empty).
    static func paths(_ x: IntentPaths) -> Response {
        let rows = x.paths.map { p in
            (0..<x.depth).map { $0 < p.intents.count ? text(p.intents[$0]) : "" }
                + [String(p.sessions), String(p.ended), String(p.dropped), String(p.escalated)]
        }
        return response(header: (1...x.depth).map { "intent_\($0)" } + ["sessions", "ended", "dropped", "escalated"], rows: rows,
                        filename: "paths")
    }

    /// `step,intent,sessions,conversion_rate`, steps numbered from 1.
    static func funnel(_ x: Funnel) -> Response {
        let rows = x.steps.enumerated().map { i, s in [String(i + 1), text(s.intent), String(s.sessions), number(s.conversionRate)] }
        return response(header: ["step", "intent", "sessions", "conversion_rate"], rows: rows, filename: "funnel")
    }
}
