import Foundation
import Hummingbird

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
