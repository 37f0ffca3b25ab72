import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import InsightsTestSupport
import InsightsWorker
import RedisClient
import Testing

/// A private redis-server, a client and the front's router; events are built as JSON.
struct ServerFixture {
    let server: TestRedisServer
    let client: RedisClient
    let nowMs: Int64
    /// H = start of the hour three hours ago (s); B = H + 10 min (ms); P = B − 30 h (previous period).
    let H: Int64
    let B: Int64
    let P: Int64

    init() throws {
        InsightsMetrics.bootstrap()
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(commandTimeout: 2), poolSize: 4)
        nowMs = EventClock.nowMs()
        H = (nowMs / 1000 / 3600 - 3) * 3600
        B = (H + 600) * 1000
        P = B - 30 * 3_600_000
    }

    func app(_ config: ServerConfiguration = ServerConfiguration(port: 0)) throws -> some ApplicationProtocol {
        try buildApplication(config, client: client)
    }

    static func ev(_ id: String, _ ts: Int64, _ type: String, _ session: String, agent: String? = "acme", rt: Int? = nil,
                   conf: Double? = nil, intent: String? = nil, escalated: Bool = false) -> [String: Any] {
        var e: [String: Any] = ["event_id": id, "timestamp": ISO8601.format(ms: ts), "event_type": type, "session_id": session]
        if let agent { e["agent_id"] = agent }
        var data: [String: Any] = [:]
        if let intent { data["intent"] = intent }
        if escalated { data["escalated_to_human"] = true }
        if !data.isEmpty { e["data"] = data }
        if let rt { e["response_time_ms"] = rt }
        if let conf { e["confidence"] = conf }
        return e
    }

    // The scenario of MetricsQueryTests. s1 (minute B): 10 events, ended, escalated; intents
    // book_flight 0.9 + fallback 0.5; rt 100, 300; one workflow started and completed.
    // s2 (minute B+60 s): 5 events, dropped at `cancel`; intent cancel 0.8, rt 50, one workflow started.
    var current: [[String: Any]] {
        let b2 = B + 60_000
        return [
            Self.ev("a1", B, "conversation_start", "s1"),
            Self.ev("a2", B + 1000, "user_message", "s1"),
            Self.ev("a3", B + 2000, "intent_classified", "s1", conf: 0.9, intent: "book_flight"),
            Self.ev("a4", B + 3000, "bot_response", "s1", rt: 100),
            Self.ev("a5", B + 4000, "workflow_started", "s1"),
            Self.ev("a6", B + 5000, "workflow_completed", "s1"),
            Self.ev("a7", B + 6000, "user_message", "s1"),
            Self.ev("a8", B + 7000, "intent_classified", "s1", conf: 0.5, intent: "fallback"),
            Self.ev("a9", B + 8000, "bot_response", "s1", rt: 300, escalated: true),
            Self.ev("a10", B + 9000, "conversation_end", "s1"),
            Self.ev("b1", b2, "conversation_start", "s2"),
            Self.ev("b2", b2 + 1000, "user_message", "s2"),
            Self.ev("b3", b2 + 2000, "intent_classified", "s2", conf: 0.8, intent: "cancel"),
            Self.ev("b4", b2 + 3000, "bot_response", "s2", rt: 50),
            Self.ev("b5", b2 + 4000, "workflow_started", "s2"),
        ]
    }

    // s0 (30 h before B): ended, automated, 2 messages, rt 200.
    var previous: [[String: Any]] {
        [
            Self.ev("p1", P, "conversation_start", "s0"),
            Self.ev("p2", P + 1000, "user_message", "s0"),
            Self.ev("p3", P + 2000, "bot_response", "s0", rt: 200),
            Self.ev("p4", P + 3000, "conversation_end", "s0"),
        ]
    }

    var all: [[String: Any]] { current + previous + [Self.ev("o1", B, "user_message", "x1", agent: "other")] }

    /// Runs a worker until the streams are drained, then sweeps every agent.
    func drain(agents: [String] = ["acme", "other"]) async throws {
        let worker = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "t1", sessionTimeoutMs: 1000, wallClockGraceMs: 0, claimInterval: .zero,
            agentRefreshInterval: .zero, trimInterval: .seconds(3600)))
        var rounds = 0
        repeat {
            _ = try await worker.processOnce()
            rounds += 1
        } while try await worker.lag().total.total > 0 && rounds < 100
        for agent in agents { _ = try await worker.sweep(agent) }
    }
}

/// `GET /api/v1/analytics/<path>`, expected to answer 200 with a JSON object.
func analytics(_ client: some TestClientProtocol, _ path: String) async throws -> [String: Any] {
    try await client.execute(uri: "/api/v1/analytics/" + path, method: .get) { r in
        #expect(r.status == .ok, "\(path): \(String(buffer: r.body))")
        return try object(r)
    }
}

func body(_ value: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: value))
}

func object(_ r: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
}

func decode<T: Decodable>(_ type: T.Type, _ r: TestResponse) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(r.body.readableBytesView))
}

/// Percent-encodes a query value (`+` in offsets, `:`).
func q(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
