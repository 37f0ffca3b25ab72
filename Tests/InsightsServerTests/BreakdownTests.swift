import Foundation
import Hummingbird
import HummingbirdTesting
import InsightsModel
import InsightsServer
import RedisClient
import Testing

/// Issue 16's breakdowns and filters over HTTP on a hand-computed data set: a conversation takes
/// its first event's value, an event its own; events without a value are `unknown`; sent shuffled
/// with duplicates, then a late earlier event that moves a finalized conversation to another channel.
@Suite("Analytics depth: breakdowns and filters")
struct BreakdownTests {
    let f: ServerFixture
    let t0: Int64

    init() throws {
        f = try ServerFixture()
        t0 = (f.nowMs - 2 * 3_600_000) / 1000 * 1000
    }

    func e(_ id: String, _ sid: String, _ type: String, _ sec: Int64, ch: String? = nil, pl: String? = nil, lo: String? = nil,
           rt: Int? = nil, intent: String? = nil, escalated: Bool = false, agent: String = "bd") -> [String: Any] {
        var ev: [String: Any] = ["event_id": id, "agent_id": agent, "session_id": sid, "event_type": type,
                                 "timestamp": ISO8601.format(ms: t0 + sec * 1000)]
        if let ch { ev["channel"] = ch }
        if let pl { ev["platform"] = pl }
        if let lo { ev["location"] = lo }
        if let rt { ev["response_time_ms"] = rt }
        var data: [String: Any] = [:]
        if let intent { data["intent"] = intent }
        if escalated { data["escalated_to_human"] = true }
        if !data.isEmpty { ev["data"] = data }
        return ev
    }

    // A (web, ios): start, user_message, intent fallback, a bot_response on *voice* rt 300, end.
    // B (mobile, android): start, user_message, bot_response rt 200 escalated; dropped.
    // C (no values): user_message, intent greeting, bot_response rt 50, end.
    // D (web): user_message, bot_response rt 400, end; late: a start on voice in DE before them.
    var events: [[String: Any]] {
        [
            e("a1", "A", "conversation_start", 0, ch: "web", pl: "ios"), e("a2", "A", "user_message", 1, ch: "web", pl: "ios"),
            e("a3", "A", "intent_classified", 2, ch: "web", pl: "ios", intent: "fallback"),
            e("a4", "A", "bot_response", 3, ch: "voice", pl: "ios", rt: 300), e("a5", "A", "conversation_end", 4, ch: "web", pl: "ios"),
            e("b1", "B", "conversation_start", 10, ch: "mobile", pl: "android"), e("b2", "B", "user_message", 11, ch: "mobile", pl: "android"),
            e("b3", "B", "bot_response", 12, ch: "mobile", pl: "android", rt: 200, escalated: true),
            e("c1", "C", "user_message", 20), e("c2", "C", "intent_classified", 21, intent: "greeting"), e("c3", "C", "bot_response", 22, rt: 50),
            e("c4", "C", "conversation_end", 23),
            e("d1", "D", "user_message", 31, ch: "web"), e("d2", "D", "bot_response", 32, ch: "web", rt: 400), e("d3", "D", "conversation_end", 33, ch: "web"),
        ]
    }

    /// value → [conversations, messages, avg rt, fallback rate, automation rate]
    func breakdown(_ client: some TestClientProtocol, _ dim: String) async throws -> [String: [Double]] {
        let o = try await analytics(client, "breakdown?agent_id=bd&dimension=\(dim)")
        #expect(o["dimension"] as? String == dim)
        let values = o["values"] as? [String: [String: Any]] ?? [:]
        return values.mapValues { v in
            ["total_conversations", "total_messages", "avg_response_time_ms", "fallback_rate", "automation_rate"].map {
                (v[$0] as? NSNumber)?.doubleValue ?? .nan
            }
        }
    }

    @Test func breakdownsAndFilters() async throws {
        let all = events.shuffled()
        let part1 = try body(Array(all[..<8])), part2 = try body(Array(all[8...]))
        let again = try body([events[3], events[5]]), late = try body([e("d0", "D", "conversation_start", 30, ch: "voice", lo: "DE")])
        try await f.app().test(.router) { client in
            for b in [part1, part2] {
                try await client.execute(uri: "/api/v1/events", method: .post, body: b) { r in #expect(r.status == .ok) }
            }
            try await client.execute(uri: "/api/v1/events", method: .post, body: again) { r in
                let dups = try object(r)["duplicates"] as? Int
                #expect(dups == 2)
            }
            try await f.drain(agents: ["bd"])
            let before = try await breakdown(client, "channel")
            #expect(before["web"] == [2, 3, 400, 100, 100])

            try await client.execute(uri: "/api/v1/events", method: .post, body: late) { r in #expect(r.status == .ok) }
            try await f.drain(agents: ["bd"])

            #expect(try await breakdown(client, "channel") == [
                "web": [1, 3, 400, 100, 100], "voice": [1, 1, 300, 0, 100], "mobile": [1, 2, 200, 0, 0], "unknown": [1, 2, 50, 0, 100]])
            #expect(try await breakdown(client, "platform") == [
                "ios": [1, 2, 300, 100, 100], "android": [1, 2, 200, 0, 0], "unknown": [2, 4, 225, 0, 100]])
            let location = try await breakdown(client, "location")
            #expect(location["DE"] == [1, 0, 0, 0, 100])
            #expect(location["unknown"]?.prefix(4) == [3, 8, 237.5, 50])
            #expect(abs((location["unknown"]?[4] ?? 0) - 200 / 3.0) < 1e-9)

            // Filters: the same numbers as the breakdown, and everything else of those endpoints.
            let web = try await analytics(client, "conversations/metrics?agent_id=bd&channel=web")
            #expect(web["total_conversations"] as? Int == 1 && web["total_messages"] as? Int == 3)
            #expect(web["avg_response_time_ms"] as? Double == 400 && web["avg_conversation_length"] as? Double == 2)
            let unknown = try await analytics(client, "conversations/metrics?agent_id=bd&channel=unknown")
            #expect(unknown["total_conversations"] as? Int == 1 && unknown["total_messages"] as? Int == 2 && unknown["avg_response_time_ms"] as? Double == 50)
            let everything = try await analytics(client, "conversations/metrics?agent_id=bd")
            #expect(everything["total_conversations"] as? Int == 4 && everything["total_messages"] as? Int == 8)
            let nluWeb = try await analytics(client, "nlu/metrics?agent_id=bd&channel=web")
            #expect(nluWeb["intent_distribution"] as? [String: Int] == ["fallback": 1] && nluWeb["fallback_rate"] as? Double == 100)
            let nluUnknown = try await analytics(client, "nlu/metrics?agent_id=bd&channel=unknown")
            #expect(nluUnknown["intent_distribution"] as? [String: Int] == ["greeting": 1] && nluUnknown["fallback_rate"] as? Double == 0)
            let mobile = try await analytics(client, "dashboard/overview?agent_id=bd&timeframe=24h&channel=mobile")
            #expect((mobile["conversation_metrics"] as? [String: Any])?["total_conversations"] as? Int == 1)
            #expect(mobile["automation_rate"] as? Double == 0)
            let voice = try await analytics(client, "dashboard/overview?agent_id=bd&timeframe=24h&channel=voice")
            #expect((voice["conversation_metrics"] as? [String: Any])?["total_conversations"] as? Int == 1 && voice["automation_rate"] as? Double == 100)
            let de = try await analytics(client, "dashboard/overview?agent_id=bd&timeframe=24h&location=DE")
            #expect((de["cost_savings"] as? [String: Any])?["automated_conversations"] as? Int == 1)

            try await client.execute(uri: "/api/v1/analytics/breakdown?agent_id=bd&dimension=channel&format=csv", method: .get) { r in
                #expect(String(buffer: r.body) == """
                    channel,total_conversations,total_messages,avg_response_time_ms,fallback_rate,automation_rate\r
                    mobile,1,2,200,0,0\r
                    unknown,1,2,50,0,100\r
                    voice,1,1,300,0,100\r
                    web,1,3,400,100,100\r

                    """)
            }
            for (bad, error) in [("breakdown?agent_id=bd&dimension=device", "invalid parameter dimension"),
                                 ("breakdown?agent_id=bd", "invalid parameter dimension"),
                                 ("conversations/metrics?agent_id=bd&channel=web&platform=ios", "invalid filter"),
                                 ("nlu/metrics?agent_id=bd&location=%07", "invalid parameter location"),
                                 ("dashboard/overview?agent_id=bd&channel=\(String(repeating: "x", count: 65))", "invalid parameter channel")] {
                try await client.execute(uri: "/api/v1/analytics/" + bad, method: .get) { r in
                    #expect(r.status == .badRequest && (try? object(r))?["error"] as? String == error, "\(bad)")
                }
            }
        }
    }

    /// 52 channels: 50 are counted by name, the other two as `other` (and filter as `other`).
    @Test func valuesAreCapped() async throws {
        let many = (0..<52).map { e(String(format: "m%02d", $0), String(format: "S%02d", $0), "user_message", Int64($0),
                                    ch: String(format: "c%02d", $0), agent: "wide") }
        let b = try body(many.shuffled())
        try await f.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .post, body: b) { r in #expect(r.status == .ok) }
            let o = try await client.execute(uri: "/api/v1/analytics/breakdown?agent_id=wide&dimension=channel", method: .get) { try object($0) }
            let values = try #require(o["values"] as? [String: [String: Any]])
            #expect(values.count == 51 && values["c49"]?["total_messages"] as? Int == 1 && values["c50"] == nil)
            #expect(values["other"]?["total_conversations"] as? Int == 2 && values["other"]?["total_messages"] as? Int == 2)
            let other = try await client.execute(uri: "/api/v1/analytics/conversations/metrics?agent_id=wide&channel=other", method: .get) { try object($0) }
            #expect(other["total_messages"] as? Int == 2)
        }
    }
}
