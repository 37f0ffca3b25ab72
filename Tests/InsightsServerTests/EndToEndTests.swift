import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsQuery
import InsightsServer
import InsightsTestSupport
import Testing

/// POST the hand-built scenario, drain the worker group, then check every endpoint's values
/// against the numbers computed by hand in MetricsQueryTests.
@Suite("Server end to end")
struct EndToEndTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

    @Test func everyEndpoint() async throws {
        let f = self.f
        let all = f.all
        let order = all.indices.sorted { ($0 * 7) % all.count < ($1 * 7) % all.count }
        let hourStart = q(ISO8601.format(ms: f.H * 1000)), hourEnd = q(ISO8601.format(ms: (f.H + 3600) * 1000))
        let window = "agent_id=acme&start_date=\(hourStart)&end_date=\(hourEnd)"
        // Ingest: half as an array, half as {"events": [...]}.
        let first = try body(order.prefix(10).map { all[$0] })
        let restCount = all.count - 10, rest = try body(["events": order.dropFirst(10).map { all[$0] }])
        let total = all.count
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: first) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["accepted"] as? Int == 10 && o["duplicates"] as? Int == 0 && (o["rejected"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: rest) { r in
                #expect(r.status == .ok)
                let accepted = try object(r)["accepted"] as? Int
                #expect(accepted == restCount)
            }
            // Before the workers: the status shows the backlog.
            try await client.execute(uri: "/api/v1/status", method: .get) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["redis"] as? String == "ok")
                #expect((o["lag"] as? Int ?? 0) + (o["pending"] as? Int ?? 0) == total)
                let agents = try #require(o["agents"] as? [String: [String: Int]])
                #expect(agents["acme"]?["lag"] == 19 && agents["other"]?["lag"] == 1)
            }
            try await f.drain()
            try await client.execute(uri: "/api/v1/status", method: .get) { r in
                let o = try object(r)
                #expect(o["lag"] as? Int == 0 && o["pending"] as? Int == 0)
            }
            try await client.execute(uri: "/api/v1/agents", method: .get) { r in
                #expect(r.status == .ok)
                let value = try object(r)["agents"] as? [String]
                #expect(value == ["acme", "other"])
            }
            try await client.execute(uri: "/health", method: .get) { r in
                let status = try object(r)["status"] as? String
                #expect(r.status == .ok && status == "ok")
            }
            try await client.execute(uri: "/ready", method: .get) { r in #expect(r.status == .ok) }

            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?\(window)", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                let m = try decode(ConversationMetrics.self, r)
                #expect(m.totalConversations == 2 && m.totalMessages == 6 && m.totalEvents == 15)
                #expect(m.avgConversationLength == 3 && m.completionRate == 50 && m.avgResponseTimeMs == 150)
                #expect(close(m.p95ResponseTimeMs, pow(2, 32.5 / 4)))
                #expect(m.resolution == .minute)
            }
            // Default window (last 30 days): s0 too.
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme", method: .get) { r in
                let m = try decode(ConversationMetrics.self, r)
                #expect(m.totalConversations == 3 && m.totalEvents == 19 && m.totalMessages == 8)
                #expect(m.avgResponseTimeMs == 162.5)
            }
            // Bare dates are accepted.
            let today = String(ISO8601.format(ms: f.nowMs + 86_400_000).prefix(10))
            let weekAgo = String(ISO8601.format(ms: f.nowMs - 7 * 86_400_000).prefix(10))
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme&start_date=\(weekAgo)&end_date=\(today)", method: .get) { r in
                #expect(r.status == .ok)
                let value = try decode(ConversationMetrics.self, r).totalConversations
                #expect(value == 3)
            }
            try await client.execute(uri: "/api/v1/analytics/nlu/metrics?\(window)", method: .get) { r in
                let n = try decode(NLUMetrics.self, r)
                #expect(n.intentDistribution == ["book_flight": 1, "fallback": 1, "cancel": 1])
                #expect(close(n.avgConfidence, 2.2 / 3) && close(n.lowConfidenceRate, 100.0 / 3))
                #expect(close(n.fallbackRate, 100.0 / 3) && n.totalClassifications == 3)
            }
            try await client.execute(uri: "/api/v1/analytics/users/drop-off?\(window)", method: .get) { r in
                let d = try decode(DropOffAnalysis.self, r)
                #expect(d.dropOffPoints == ["cancel": 1] && d.totalIncompleteSessions == 1)
            }
            try await client.execute(uri: "/api/v1/analytics/business/automation-rate?\(window)", method: .get) { r in
                let value = try decode(AutomationRate.self, r).automationRate
                #expect(value == 50)
            }
            try await client.execute(uri: "/api/v1/analytics/business/cost-savings?\(window)", method: .get) { r in
                let c = try decode(CostSavings.self, r)
                #expect(c.totalConversations == 2 && c.automatedConversations == 1 && c.costSavings == 5 && c.costPerInteraction == 5)
            }
            try await client.execute(uri: "/api/v1/analytics/business/cost-savings?agent_id=acme&cost_per_interaction=2.5", method: .get) { r in
                let c = try decode(CostSavings.self, r)
                #expect(c.totalConversations == 3 && c.automatedConversations == 2 && c.costSavings == 5)
                #expect(close(c.automationRate, 200.0 / 3))
            }
            try await client.execute(uri: "/api/v1/analytics/dashboard/overview?agent_id=acme&timeframe=24h", method: .get) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["timeframe"] as? String == "24h" && o["automation_rate"] as? Double == 50)
                let c = try #require(o["conversation_metrics"] as? [String: Any])
                #expect(c["total_conversations"] as? Int == 2)
                let changes = try #require(o["changes"] as? [String: Any])
                #expect(changes["total_conversations"] as? Double == 100 && changes["avg_response_time_ms"] as? Double == -25)
                #expect(changes["completion_rate"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/analytics/dashboard/overview?agent_id=acme", method: .get) { r in
                let value = try object(r)["timeframe"] as? String
                #expect(value == "30d")
            }
            let tsStart = q(ISO8601.format(ms: f.B)), tsEnd = q(ISO8601.format(ms: f.B + 120_000))
            try await client.execute(
                uri: "/api/v1/analytics/conversations/timeseries?agent_id=acme&start_date=\(tsStart)&end_date=\(tsEnd)&interval=minute",
                method: .get
            ) { r in
                let t = try decode(Timeseries.self, r)
                #expect(t.interval == .minute && t.points.map(\.events) == [10, 5] && t.points.map(\.conversations) == [1, 1])
                #expect(t.points[0].date == ISO8601.format(ms: f.B) && t.points[0].fallbacks == 1)
            }
            try await client.execute(uri: "/api/v1/analytics/conversations/timeseries?\(window)", method: .get) { r in
                let t = try decode(Timeseries.self, r)
                #expect(t.interval == .hour && t.points.map(\.events) == [15])
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/s1", method: .get) { r in
                let j = try decode(Journey.self, r)
                #expect(j.agentID == "acme" && j.journey.map(\.eventID) == ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"])
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/x1?agent_id=other", method: .get) { r in
                let value = try decode(Journey.self, r).journey.count
                #expect(value == 1)
            }
            try await client.execute(uri: "/api/v1/analytics/users/journey/s1?agent_id=other", method: .get) { r in
                #expect(r.status == .notFound)
            }
        }
    }

    @Test func readyAndStatusWhenRedisIsDown() async throws {
        let f = self.f
        let events = try body([ServerFixture.ev("z1", f.nowMs, "user_message", "sz")])
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { r in #expect(r.status == .ok) }
            f.server.stop()
            try await client.execute(uri: "/ready", method: .get) { r in #expect(r.status == .serviceUnavailable) }
            try await client.execute(uri: "/health", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/status", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                let value = try object(r)["redis"] as? String
                #expect(value == "unreachable")
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: events) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.headers[.retryAfter] == "1")
                let o = try object(r)
                #expect(o["accepted"] == nil && o["error"] is String)
            }
            try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=acme", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
            }
        }
    }
}

/// Over a real socket (the body limit applies to a streamed request body).
@Suite("Server live")
struct LiveServerTests {
    @Test func liveHealthNotFoundAndBodyLimit() async throws {
        let f = try ServerFixture()
        let big = ByteBuffer(string: "[\"" + String(repeating: "a", count: (1 << 20) + 10) + "\"]")
        let small = try body([ServerFixture.ev("l1", f.nowMs, "user_message", "s")])
        try await f.app().test(.live) { client in
            try await client.execute(uri: "/health", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/nope", method: .get) { r in
                #expect(r.status == .notFound)
                let error = try object(r)["error"] as? String
                #expect(error == "not found")
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: big) { r in
                #expect(r.status == .contentTooLarge)
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: small) { r in
                #expect(r.status == .ok)
                let accepted = try object(r)["accepted"] as? Int
                #expect(accepted == 1)
            }
        }
    }
}
