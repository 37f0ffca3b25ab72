import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One structured log line per request (docs/operations.md, *Access log*): `request_id`, `method`,
/// `path` (without the query), `route` (the matched pattern; `NotFound`, Hummingbird's name, when none matched), `status`,
/// `duration_ms` (until the body is written), `bytes` (of the response body).
///
/// The request id is the client's `X-Request-Id` when it is a plain token (1…128 of
/// `A-Z a-z 0-9 . _ : -`; anything else could forge log lines), else 16 random hex digits. It is
/// echoed in the response's `X-Request-Id` and set on the request's logger, so every other line
/// logged for the request carries it too.
///
/// Outermost but for the metrics: it sees the JSON errors as the client does. A body of known
/// length (every JSON answer) is logged when the handler returns; a streamed one (static files)
/// is counted as it is written and logged after its last byte.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let id = Self.requestID(request.headers[Self.requestIDHeader])
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        let line = Line(logger: logger, id: id, method: request.method.rawValue, path: request.uri.path, started: started)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Only what no inner middleware turned into an answer gets here (Hummingbird answers 500).
            line.log(route: context.endpointPath, status: (error as? any HTTPResponseError)?.status.code ?? 500, bytes: 0)
            throw error
        }
        response.headers[Self.requestIDHeader] = id
        let route = context.endpointPath, status = response.status.code
        if let length = response.body.contentLength {
            line.log(route: route, status: status, bytes: length)
            return response
        }
        let body = response.body
        response.body = ResponseBody { writer in
            let counted = ByteCount()
            do {
                try await body.write(CountingWriter(base: writer, count: counted))
            } catch {
                line.log(route: route, status: status, bytes: counted.value.load(ordering: .relaxed))
                throw error
            }
            line.log(route: route, status: status, bytes: counted.value.load(ordering: .relaxed))
        }
        return response
    }

    /// The client's id if it is a safe token, else a new one.
    static func requestID(_ given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy(isTokenByte) { return given }
        return Hex.encode(withUnsafeBytes(of: UInt64.random(in: .min ... .max).bigEndian) { Array($0) })
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// What is known of the request before it is answered.
    private struct Line: Sendable {
        let logger: Logger, id: String, method: String, path: String, started: ContinuousClock.Instant

        func log(route: String?, status: Int, bytes: Int) {
            let ms = ((ContinuousClock.now - started) / .microseconds(1)).rounded() / 1000
            logger.info("request", metadata: [
                "request_id": .string(id), "method": .string(method), "path": .string(path), "route": .string(route ?? "NotFound"),
                "status": .stringConvertible(status), "duration_ms": .stringConvertible(ms),
                "bytes": .stringConvertible(bytes),
            ])
        }
    }
}

/// Bytes written of a streamed body (the writer is copied into the body's closure; the count outlives it).
private final class ByteCount: Sendable {
    let value = Atomic<Int>(0)
}

private struct CountingWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let count: ByteCount

    mutating func write(_ buffer: ByteBuffer) async throws {
        count.value.add(buffer.readableBytes, ordering: .relaxed)
        try await base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }
}
