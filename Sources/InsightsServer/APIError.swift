#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import InsightsQuery
import Logging
import RedisClient

/// An error answered as JSON `{"error": "...", "detail": ...}` with its status.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var error: String
    public var detail: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ error: String, detail: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers
    }

    static func badRequest(_ error: String, detail: String? = nil) -> APIError { APIError(.badRequest, error, detail: detail) }

    static func redisUnavailable(_ detail: String) -> APIError {
        var h = HTTPFields()
        h[.retryAfter] = "1"
        return APIError(.serviceUnavailable, "redis unavailable", detail: detail, headers: h)
    }

    /// 503 for ingest refused because an agent's stream is at its cap (`StreamFullError`).
    static func streamFull(_ detail: String) -> APIError {
        var h = HTTPFields()
        h[.retryAfter] = "5"
        return APIError(.serviceUnavailable, "stream full", detail: detail, headers: h)
    }
}

struct ErrorBody: Encodable {
    var error: String
    var detail: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(error, forKey: .error)
        try c.encode(detail, forKey: .detail)  // null when absent
    }

    enum CodingKeys: String, CodingKey { case error, detail }
}

enum JSON {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            data = Data(#"{"error":"internal error","detail":"could not encode the response"}"#.utf8)
            return raw(data, status: .internalServerError, headers: [:])
        }
        return raw(data, status: status, headers: headers)
    }

    static func raw(_ data: Data, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ e: APIError) -> Response {
        response(ErrorBody(error: e.error, detail: e.detail), status: e.status, headers: e.headers)
    }
}

/// Turns every error into a JSON error response: ours as they are, Redis connection
/// failures into 503 with Retry-After, Hummingbird's (404, 413, …) with their status,
/// anything else into 500 (logged).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return JSON.error(Self.apiError(error, request: request, logger: logger))
        }
    }

    static func apiError(_ error: any Error, request: Request, logger: Logger) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as RedisConnectionError:
            logger.warning("redis unreachable", metadata: ["path": "\(request.uri.path)", "error": "\(e)"])
            return .redisUnavailable(e.message)
        case let e as RedisCommandError where e.isTransient:
            // LOADING (Redis restarting), BUSY, READONLY...: nothing ran, a retry later succeeds → 503, not 500.
            logger.warning("redis not ready", metadata: ["path": "\(request.uri.path)", "error": "\(e)"])
            return .redisUnavailable(e.message)
        case let e as QueryError:
            switch e {
            case .tooManyPoints: return .badRequest("too many points", detail: e.description)
            case .invalidWindow: return .badRequest("invalid window", detail: e.description)
            case .unknownTimeframe: return .badRequest("invalid timeframe", detail: e.description)
            case .badReply: return APIError(.internalServerError, "internal error", detail: e.description)
            }
        case let e as any HTTPResponseError:
            let status = e.status
            switch status.code {
            case 404: return APIError(.notFound, "not found", detail: "no route for \(request.method) \(request.uri.path)")
            case 413: return APIError(.contentTooLarge, "request body too large")
            default: return APIError(status, status.reasonPhrase.lowercased())
            }
        default:
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal error", detail: "\(error)")
        }
    }
}
