import Hummingbird
import HummingbirdTesting
@testable import InsightsServer
import Synchronization
import Testing

/// OverviewCacheMiddleware in front of a handler that counts its calls (no Redis involved).
@Suite("Overview cache")
struct OverviewCacheTests {
    final class Calls: Sendable {
        let count = Mutex(0)
        func next() -> Int { count.withLock { $0 += 1; return $0 } }
        var value: Int { count.withLock { $0 } }
    }

    static let path = "/api/v1/analytics/dashboard/overview"

    func app(_ calls: Calls, ttl: Duration, status: HTTPResponse.Status = .ok) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: OverviewCacheMiddleware(ttl: ttl))
        router.get("api/v1/analytics/dashboard/overview") { req, _ -> Response in
            let n = calls.next()
            try await Task.sleep(for: .milliseconds(50))
            let agent = req.uri.queryParameters.get("agent_id") ?? "-"
            return Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "\(agent) \(n)")))
        }
        router.get("other") { _, _ -> String in "other \(calls.next())" }
        return Application(router: router)
    }

    func get(_ client: some TestClientProtocol, _ uri: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: uri, method: .get) { r in (r.status, String(buffer: r.body)) }
    }

    @Test func sameURLWithinTTLIsComputedOnce() async throws {
        let calls = Calls()
        // A TTL far longer than the test, however slow the machine: every repeat is a hit.
        try await app(calls, ttl: .seconds(120)).test(.router) { client async throws in
            #expect(try await get(client, Self.path + "?agent_id=a") == (.ok, "a 1"))
            #expect(try await get(client, Self.path + "?agent_id=a") == (.ok, "a 1"))
            #expect(try await get(client, Self.path + "?agent_id=b") == (.ok, "b 2"))  // another URL: its own answer
            #expect(try await get(client, Self.path + "?agent_id=a&timeframe=7d") == (.ok, "a 3"))
            #expect(try await get(client, "/other") == (.ok, "other 4"))  // other routes are never cached
            #expect(try await get(client, "/other") == (.ok, "other 5"))
            #expect(try await get(client, Self.path + "?agent_id=b") == (.ok, "b 2"))
            #expect(calls.value == 5)
        }
    }

    @Test func expiredAnswerIsComputedAgain() async throws {
        let calls = Calls()
        try await app(calls, ttl: .milliseconds(100)).test(.router) { client in
            #expect(try await get(client, Self.path + "?agent_id=a") == (.ok, "a 1"))
            try await Task.sleep(for: .milliseconds(300))  // longer than the TTL: slowness only adds to it
            #expect(try await get(client, Self.path + "?agent_id=a") == (.ok, "a 2"))
            #expect(calls.value == 2)
        }
    }

    @Test func concurrentPollersShareOneComputation() async throws {
        let calls = Calls()
        try await app(calls, ttl: .seconds(5)).test(.live) { client in
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await client.execute(uri: Self.path + "?agent_id=a", method: .get) { String(buffer: $0.body) } }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(bodies.count == 20 && Set(bodies) == ["a 1"])
            #expect(calls.value == 1)
        }
    }

    @Test func errorsAreNotCached() async throws {
        let calls = Calls()
        try await app(calls, ttl: .seconds(5), status: .serviceUnavailable).test(.router) { client in
            let first = try await get(client, Self.path + "?agent_id=a")
            let second = try await get(client, Self.path + "?agent_id=a")
            #expect(first.0 == .serviceUnavailable && first.1 == "a 1")
            #expect(second.0 == .serviceUnavailable && second.1 == "a 2")
        }
    }
}
