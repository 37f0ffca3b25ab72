import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
@testable import InsightsServer
import Logging
import NIOCore
import Synchronization
import Testing

/// Every line a logger receives, with its metadata (the access log's fields).
final class CapturedLog: Sendable {
    struct Line: Sendable {
        let level: Logger.Level, message: String, metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func logger(label: String = "insights.access") -> Logger {
        Logger(label: label) { _ in Handler(log: self) }
    }

    fileprivate func append(_ line: Line) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.append(Line(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" }))
        }
    }
}

/// The access log (docs/operations.md, *Access log*): one line per request with its fields by value,
/// the request id taken from the client when it is a safe token and echoed, JSON errors logged with
/// the status the client sees, streamed bodies counted to their last byte.
@Suite("Access log")
struct AccessLogTests {
    @Test func oneLinePerRequestThroughTheFront() async throws {
        let f = try ServerFixture()
        let log = CapturedLog()
        var config = ServerConfiguration(port: 0)
        config.accessLogger = log.logger()
        let t = f.nowMs - 60_000
        try await f.app(config).test(.router) { client in
            // Accepted batch with the client's id, echoed.
            let batch = try body([ServerFixture.ev("al1", t, "user_message", "als1", agent: "alog")])
            let answer = try await client.execute(uri: "/api/v1/events", method: .post, headers: [AccessLogMiddleware<AppRequestContext>.requestIDHeader: "trace-42.a:b_c"],
                                                  body: batch) { r in
                #expect(r.status == .ok)
                #expect(r.headers[AccessLogMiddleware<AppRequestContext>.requestIDHeader] == "trace-42.a:b_c")
                return r.body.readableBytes
            }
            // A route with a parameter: the pattern and the path both logged; a 400 as the client sees it.
            try await client.execute(uri: "/api/v1/analytics/users/journey/bad%20id?agent_id=alog", method: .get) { r in
                #expect(r.status == .badRequest)
            }
            // A forged id (a newline would start a fake line) is replaced by a generated one.
            let generated = try await client.execute(uri: "/health", method: .get, headers: [AccessLogMiddleware<AppRequestContext>.requestIDHeader: "x\ny"]) { r in
                #expect(r.status == .ok)
                return r.headers[AccessLogMiddleware<AppRequestContext>.requestIDHeader]
            }
            try await client.execute(uri: "/no/such/route", method: .get) { #expect($0.status == .notFound) }

            let lines = log.all
            #expect(lines.count == 4)
            #expect(lines.allSatisfy { $0.message == "request" && $0.level == .info })
            let m = lines.map(\.metadata)
            #expect(m[0]["request_id"] == "trace-42.a:b_c")
            #expect(m[0]["method"] == "POST" && m[0]["path"] == "/api/v1/events" && m[0]["route"] == "/api/v1/events")
            #expect(m[0]["status"] == "200" && m[0]["bytes"] == "\(answer)")
            #expect(m[1]["route"] == "/api/v1/analytics/users/journey/{session_id}")
            #expect(m[1]["path"] == "/api/v1/analytics/users/journey/bad%20id")  // without the query string
            #expect(m[1]["status"] == "400")
            let id = try #require(generated)
            #expect(id.count == 16 && id.allSatisfy(\.isHexDigit) && m[2]["request_id"] == id)
            #expect(m[3]["status"] == "404" && m[3]["route"] == "NotFound" && m[3]["path"] == "/no/such/route")
            // Every line's duration is a non-negative number of milliseconds.
            #expect(m.allSatisfy { Double($0["duration_ms"] ?? "") ?? -1 >= 0 })
            // Ids differ per request.
            #expect(Set(m.compactMap { $0["request_id"] }).count == 4)
        }
    }

    @Test func streamedBodiesAreCountedToTheLastByte() async throws {
        let log = CapturedLog()
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessLogMiddleware(logger: log.logger()))
        router.get("stream") { _, _ -> Response in
            let parts = ["abc", "defgh", "ij"].map { ByteBuffer(string: $0) }
            return Response(status: .ok, body: ResponseBody(asyncSequence: AsyncStreamOf(parts)))
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/stream", method: .get) { r in
                #expect(String(buffer: r.body) == "abcdefghij")
                #expect(r.headers[AccessLogMiddleware<BasicRequestContext>.requestIDHeader] != nil)
            }
        }
        let lines = log.all
        #expect(lines.count == 1)
        #expect(lines.first?.metadata["bytes"] == "10" && lines.first?.metadata["route"] == "/stream")
    }

    @Test func requestIDRule() {
        #expect(AccessLogMiddleware<BasicRequestContext>.requestID("abc-DEF_1.2:3") == "abc-DEF_1.2:3")
        for bad in ["", "a b", "é", "a\"b", String(repeating: "a", count: 129)] {
            let id = AccessLogMiddleware<BasicRequestContext>.requestID(bad)
            #expect(id != bad && id.count == 16 && id.allSatisfy(\.isHexDigit))
        }
        #expect(AccessLogMiddleware<BasicRequestContext>.requestID(String(repeating: "a", count: 128)).count == 128)
    }
}

/// A finite async sequence of buffers (a body whose length is not known up front).
private struct AsyncStreamOf: AsyncSequence, Sendable {
    let parts: [ByteBuffer]
    init(_ parts: [ByteBuffer]) { self.parts = parts }

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [ByteBuffer]
        mutating func next() async -> ByteBuffer? { rest.isEmpty ? nil : rest.removeFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: parts) }
}
