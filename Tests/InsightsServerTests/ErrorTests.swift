import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import RedisClient
import Testing

/// One test per caller error: each answers JSON `{"error": …, "detail": …}` with a 4xx status.
@Suite("Server errors")
struct ErrorTests {
    let f: ServerFixture

    init() throws { f = try ServerFixture() }

    /// GET `uri`, expect `status` and a JSON error whose `error` or `detail` mentions `mentions`.
    func expectError(_ uri: String, _ status: HTTPResponse.Status, mentions: String? = nil, method: HTTPRequest.Method = .get,
                     body: ByteBuffer? = nil, config: ServerConfiguration = ServerConfiguration(port: 0)) async throws {
        try await f.app(config).test(.router) { client in
            try await client.execute(uri: uri, method: method, body: body) { r in
                #expect(r.status == status, "\(uri)")
                #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                let o = try object(r)
                let text = "\(o["error"] ?? "") \(o["detail"] ?? "")"
                #expect(o["error"] is String)
                #expect(o.keys.contains("detail"))
                if let mentions { #expect(text.contains(mentions), "\(text)") }
            }
        }
    }

    @Test func missingAgentID() async throws {
        for path in ["conversations/metrics", "nlu/metrics", "users/drop-off", "business/automation-rate", "business/cost-savings",
                     "dashboard/overview", "conversations/timeseries"] {
            try await expectError("/api/v1/analytics/\(path)", .badRequest, mentions: "agent_id")
        }
    }

    /// Issue 12: read routes took any agent_id (20 000 characters, braces, spaces) and answered 200 with zeros.
    @Test func malformedAgentIDIs400NamingIt() async throws {
        let long = String(repeating: "a", count: 20_000)
        for path in ["conversations/metrics", "nlu/metrics", "users/drop-off", "business/automation-rate", "business/cost-savings",
                     "dashboard/overview", "conversations/timeseries"] {
            for bad in [long, "%7Bacme%7D", "ac%20me", "acme%0A", "caf%C3%A9"] {
                try await expectError("/api/v1/analytics/\(path)?agent_id=\(bad)", .badRequest, mentions: "agent_id")
            }
        }
        try await expectError("/api/v1/analytics/users/journey/s1?agent_id=\(long)", .badRequest, mentions: "agent_id")
        try await expectError("/api/v1/analytics/users/journey/s1?agent_id=a%7Bb%7D", .badRequest, mentions: "agent_id")
    }

    @Test func malformedSessionIDIs400NamingIt() async throws {
        for bad in ["%7Bs1%7D", "s%201", String(repeating: "s", count: 129)] {
            try await expectError("/api/v1/analytics/users/journey/\(bad)", .badRequest, mentions: "session_id")
            try await expectError("/api/v1/analytics/users/journey/\(bad)?agent_id=acme", .badRequest, mentions: "session_id")
        }
        // A well-formed unknown session is still a 404, and 128 characters are allowed.
        try await expectError("/api/v1/analytics/users/journey/\(String(repeating: "s", count: 128))", .notFound)
    }

    @Test func wellFormedUnknownAgentAnswersZeros() async throws {
        let agent = String(repeating: "Z", count: 128) + "&x=1"  // exactly 128 characters, then another parameter
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/analytics/nlu/metrics?agent_id=\(agent)", method: .get) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["total_classifications"] as? Int == 0)
            }
        }
    }

    @Test func badDate() async throws {
        try await expectError("/api/v1/analytics/conversations/metrics?agent_id=a&start_date=yesterday", .badRequest, mentions: "start_date")
        try await expectError("/api/v1/analytics/nlu/metrics?agent_id=a&end_date=2024-13-01", .badRequest, mentions: "end_date")
    }

    @Test func startNotBeforeEnd() async throws {
        try await expectError("/api/v1/analytics/conversations/metrics?agent_id=a&start_date=2024-02-01&end_date=2024-01-01",
                              .badRequest, mentions: "start_date")
        try await expectError("/api/v1/analytics/users/drop-off?agent_id=a&start_date=2024-01-01&end_date=2024-01-01", .badRequest)
    }

    @Test func unknownTimeframe() async throws {
        try await expectError("/api/v1/analytics/dashboard/overview?agent_id=a&timeframe=1y", .badRequest, mentions: "timeframe")
    }

    @Test func badInterval() async throws {
        try await expectError("/api/v1/analytics/conversations/timeseries?agent_id=a&interval=week", .badRequest, mentions: "interval")
        // Too many points (30 days of minutes) is the caller's fault too.
        try await expectError("/api/v1/analytics/conversations/timeseries?agent_id=a&interval=minute", .badRequest, mentions: "points")
    }

    @Test func badCost() async throws {
        for v in ["-1", "abc", "nan", "inf"] {
            try await expectError("/api/v1/analytics/business/cost-savings?agent_id=a&cost_per_interaction=\(v)", .badRequest,
                                  mentions: "cost_per_interaction")
        }
    }

    @Test func unknownSession() async throws {
        try await expectError("/api/v1/analytics/users/journey/nope", .notFound, mentions: "nope")
        try await expectError("/api/v1/analytics/users/journey/nope?agent_id=acme", .notFound)
    }

    @Test func unknownRoute() async throws {
        try await expectError("/api/v1/nothing-here", .notFound)
    }

    @Test func malformedJSON() async throws {
        try await expectError("/api/v1/events", .badRequest, mentions: "JSON", method: .post, body: ByteBuffer(string: "[{\"event_type\": "))
        try await expectError("/api/v1/events", .badRequest, method: .post, body: ByteBuffer(string: "{\"x\": 1}"))
    }

    @Test func tooManyEvents() async throws {
        let events = (0..<1001).map { ServerFixture.ev("e\($0)", f.nowMs, "user_message", "s") }
        try await expectError("/api/v1/events", .contentTooLarge, mentions: "1001", method: .post, body: try body(events))
        let agents = try await f.client.send("SMEMBERS", key: "ins:agents").array ?? []
        #expect(agents.isEmpty)
    }

    @Test func bodyTooLarge() async throws {
        let big = String(repeating: "x", count: 1 << 20)
        let events: [[String: Any]] = [["event_type": "user_message", "session_id": "s", "agent_id": "a", "data": ["pad": big]]]
        try await expectError("/api/v1/events", .contentTooLarge, method: .post, body: try body(events))
    }

    @Test func mixedBatch() async throws {
        let now = f.nowMs
        let events: [Any] = [
            ServerFixture.ev("m0", now, "user_message", "s"),
            ServerFixture.ev("m1", now, "user_message", "s", agent: nil),  // agent_id missing
            ServerFixture.ev("m2", now, "no_such_type", "s"),
            ServerFixture.ev("m3", now + 3_600_000, "user_message", "s"),  // an hour in the future
            42,
            ServerFixture.ev("m5", now, "bot_response", "s", rt: 10),
        ]
        let payload = try body(["events": events])
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: payload) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["accepted"] as? Int == 2 && o["duplicates"] as? Int == 0)
                let rejected = try #require(o["rejected"] as? [[String: Any]])
                #expect(rejected.map { $0["index"] as? Int } == [1, 2, 3, 4])
                let errors = rejected.compactMap { $0["error"] as? String }
                #expect(errors[0].hasPrefix("agent_id:") && errors[1].hasPrefix("event_type:") && errors[2].hasPrefix("timestamp:"))
                #expect(errors[3].hasPrefix("event:"))
            }
        }
    }

    @Test func duplicatePost() async throws {
        let events = try body([ServerFixture.ev("d1", f.nowMs, "user_message", "s"), ServerFixture.ev("d2", f.nowMs, "bot_response", "s", rt: 5)])
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: events) { r in
                let o = try object(r)
                #expect(o["accepted"] as? Int == 2 && o["duplicates"] as? Int == 0)
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: events) { r in
                #expect(r.status == .ok)
                let o = try object(r)
                #expect(o["accepted"] as? Int == 0 && o["duplicates"] as? Int == 2)
            }
        }
    }
}
