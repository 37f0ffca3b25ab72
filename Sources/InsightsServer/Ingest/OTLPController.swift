import Foundation
import Hummingbird
import InsightsModel
import InsightsTracker
import OTLPProto
import SwiftProtobuf

/// OTLP/HTTP trace ingest (docs/ingest.md, *OpenTelemetry*): `POST /v1/traces` with a protobuf or
/// JSON `ExportTraceServiceRequest` (gzip too), answered as the OTLP specification says: 200 with an
/// `ExportTraceServiceResponse` in the request's encoding (`partial_success` counts the rejected
/// spans), a `google.rpc.Status` body on 4xx/5xx. 503 (Redis) and 429 are what OTLP exporters retry.
struct OTLPController<Context: RequestContext>: Sendable {
    let events: EventsController<Context>
    let defaultAgent: String?

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("traces") { req, _ in try await export(req) }
    }

    func export(_ request: Request) async throws -> Response {
        // The media type decides the encoding of the answer too; anything else is a 415 in JSON.
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let encoding: OTLPWire.Encoding
        switch mediaType {
        case "application/x-protobuf", "application/protobuf": encoding = .protobuf
        case "application/json": encoding = .json
        default:
            throw APIError(.unsupportedMediaType, "unsupported content type",
                           detail: "send an OTLP ExportTraceServiceRequest as application/x-protobuf or application/json")
        }
        do {
            return try await export(request, encoding: encoding)
        } catch let e as APIError {
            return OTLPWire.status(e, encoding)
        }
    }

    func export(_ request: Request, encoding: OTLPWire.Encoding) async throws -> Response {
        let raw = try await events.body(request)
        let bytes = try OTLPWire.decoded(raw, encoding: request.headers[.contentEncoding])
        let message = try OTLPWire.decode(bytes, encoding)
        var context = OTLPMapping.Context(defaultAgent: defaultAgent)
        if let allowed = Principal.allowedAgents, allowed.count == 1 { context.keyAgent = allowed.first }

        let now = EventClock.nowMs()
        var valid: [AnalyticsEvent] = [], agents: [String] = [], rejectedSpans = 0, firstProblems: [String] = []
        func reject(_ position: String, _ why: String) {
            rejectedSpans += 1
            if firstProblems.count < 5 { firstProblems.append("\(position): \(why)") }
        }
        for mapped in OTLPMapping.map(message, context: context) {
            switch mapped.outcome {
            case .ignored: break
            case .rejected(let why): reject(mapped.position, why)
            case .events(let objects):
                // A span is taken whole or not at all.
                var span: [AnalyticsEvent] = [], problems: [RejectedEvent] = []
                for object in objects {
                    EventsController<Context>.admit(EventDecoding.decode(object: object, now: now), index: 0, now: now, valid: &span,
                                                    rejected: &problems)
                }
                if let p = problems.first { reject(mapped.position, p.error); continue }
                valid += span
                agents += span.compactMap(\.agentID)
            }
        }
        try Principal.authorizeIngest(agents: agents, events: valid.count)
        let result = valid.isEmpty ? IngestResult() : try await events.store(valid)
        IngestMetrics.record(.otlp, accepted: result.accepted, duplicates: result.duplicates, rejected: rejectedSpans)
        var answer = Insights_Otlp_ExportTraceServiceResponse()
        if rejectedSpans > 0 {
            answer.partialSuccess.rejectedSpans = Int64(rejectedSpans)
            let more = rejectedSpans > firstProblems.count ? "; and \(rejectedSpans - firstProblems.count) more" : ""
            answer.partialSuccess.errorMessage = firstProblems.joined(separator: "; ") + more
        }
        return try OTLPWire.response(answer, encoding, status: .ok)
    }
}

/// The wire side of OTLP/HTTP: decoding the request, encoding the answer and the error Status.
enum OTLPWire {
    /// The largest request once gunzipped.
    static let maxDecodedBytes = 8 << 20

    enum Encoding {
        case protobuf, json
        var contentType: String { self == .protobuf ? "application/x-protobuf" : "application/json" }
    }

    /// The request's bytes, gunzipped when `Content-Encoding: gzip`.
    static func decoded(_ raw: ByteBuffer, encoding: String?) throws -> [UInt8] {
        try ContentEncoding.decode(raw, encoding: encoding, limit: maxDecodedBytes, tooLarge: APIError(
            .contentTooLarge, "request body too large", detail: "at most \(maxDecodedBytes) bytes once gunzipped"))
    }

    static func decode(_ bytes: [UInt8], _ encoding: Encoding) throws -> Insights_Otlp_ExportTraceServiceRequest {
        switch encoding {
        case .protobuf:
            do {
                return try Insights_Otlp_ExportTraceServiceRequest(serializedBytes: bytes)
            } catch {
                throw APIError.badRequest("malformed protobuf", detail: "not an OTLP ExportTraceServiceRequest: \(error)")
            }
        case .json:
            let root: JSONValue
            do throws(JSONParseError) {
                root = try JSONValue.parse(Data(bytes))
            } catch {
                throw APIError.badRequest("malformed JSON", detail: error.description)
            }
            guard case .object = root else { throw APIError.badRequest("invalid request", detail: "the body must be a JSON object") }
            // OTLP/JSON writes trace and span ids in hex, where the protobuf JSON mapping has base64.
            let rewritten = try hexIDsToBase64(root)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            do {
                return try Insights_Otlp_ExportTraceServiceRequest(jsonUTF8Bytes: rewritten.compactJSONBytes, options: options)
            } catch {
                throw APIError.badRequest("invalid request", detail: "not an OTLP/JSON ExportTraceServiceRequest: \(error)")
            }
        }
    }

    /// The id fields OTLP/JSON writes as hex strings.
    static let hexIDKeys: Set<String> = ["traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"]

    static func hexIDsToBase64(_ v: JSONValue) throws -> JSONValue {
        switch v {
        case .array(let a): return .array(try a.map(hexIDsToBase64))
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, x) in o {
                if hexIDKeys.contains(k), case .string(let s) = x {
                    guard let bytes = Hex.decode(s) else {
                        throw APIError.badRequest("invalid request", detail: "\(k) must be a hex string (got \"\(s.prefix(40))\")")
                    }
                    out[k] = .string(Data(bytes).base64EncodedString())
                } else {
                    out[k] = try hexIDsToBase64(x)
                }
            }
            return .object(out)
        default: return v
        }
    }

    static func response(_ message: some SwiftProtobuf.Message, _ encoding: Encoding, status: HTTPResponse.Status) throws -> Response {
        let body: [UInt8] = encoding == .protobuf ? try message.serializedBytes() : try message.jsonUTF8Bytes()
        var headers = HTTPFields()
        headers[.contentType] = encoding.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// An error as OTLP/HTTP answers it: a `google.rpc.Status` (its code the gRPC code of the HTTP
    /// status) in the request's encoding, with the API error's own headers (Retry-After). In JSON
    /// the Status's `code` and `message` sit beside our `error` and `detail` (OTLP clients ignore
    /// what they don't know; every other client reads the API's usual error fields).
    static func status(_ e: APIError, _ encoding: Encoding) -> Response {
        var s = Insights_Otlp_RpcStatus()
        s.code = grpcCode(e.status)
        s.message = e.detail.map { "\(e.error): \($0)" } ?? e.error
        guard encoding == .protobuf else {
            return JSON.response(JSONStatus(code: s.code, message: s.message, error: e.error, detail: e.detail), status: e.status,
                                 headers: e.headers)
        }
        var headers = e.headers
        headers[.contentType] = encoding.contentType
        let body: [UInt8] = (try? s.serializedBytes()) ?? []
        return Response(status: e.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    struct JSONStatus: Encodable {
        var code: Int32
        var message: String
        var error: String
        var detail: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
            try c.encode(error, forKey: .error)
            try c.encode(detail, forKey: .detail)  // null when there is none, as every error of the API
        }

        enum CodingKeys: String, CodingKey { case code, message, error, detail }
    }

    static func grpcCode(_ status: HTTPResponse.Status) -> Int32 {
        switch status.code {
        case 400, 413, 415: 3  // INVALID_ARGUMENT
        case 401: 16  // UNAUTHENTICATED
        case 403: 7  // PERMISSION_DENIED
        case 408: 4  // DEADLINE_EXCEEDED
        case 429: 8  // RESOURCE_EXHAUSTED
        case 503: 14  // UNAVAILABLE
        default: 13  // INTERNAL
        }
    }
}
