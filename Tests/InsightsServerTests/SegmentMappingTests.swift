import Foundation
import InsightsModel
import InsightsServer
import Testing

/// Every rule of the Segment mapping (docs/ingest.md, *Segment*), message by message.
@Suite("Segment mapping")
struct SegmentMappingTests {
    let now: Int64 = 1_796_000_000_000
    var ctx: SegmentMapping.Context { SegmentMapping.Context(receivedAtMs: now) }

    func msg(_ json: String) throws -> JSONValue { try JSONValue.parse(json) }

    func event(_ json: String, _ context: SegmentMapping.Context? = nil, implied: String? = nil) throws -> [String: JSONValue] {
        let out = SegmentMapping.map(try msg(json), impliedType: implied, context: context ?? ctx)
        guard case .event(let e) = out else {
            Issue.record("not an event: \(out)")
            return [:]
        }
        return e
    }

    func rejection(_ json: String, _ context: SegmentMapping.Context? = nil) throws -> String {
        guard case .rejected(let why) = SegmentMapping.map(try msg(json), context: context ?? ctx) else { return "" }
        return why
    }

    @Test func eventNamesMapToTypesOrCustom() throws {
        let names: [(String, EventType?)] = [
            ("Conversation Start", .conversationStart), ("user_message", .userMessage), ("Intent-Classified", .intentClassified),
            ("BOT RESPONSE", .botResponse), ("workflow completed", .workflowCompleted), ("Order Completed", nil), ("conversation started", nil),
        ]
        for (name, type) in names { #expect(SegmentMapping.eventType(named: name) == type, "\(name)") }
        let custom = try event(#"{"type":"track","event":"Order Completed","messageId":"m1","properties":{"session_id":"s1","agent_id":"a"}}"#)
        #expect(custom["event_type"] == "custom" && custom["data"] == .object(["name": "Order Completed"]))
        let known = try event(#"{"type":"track","event":"Conversation Start","messageId":"m1","properties":{"session_id":"s1","agent_id":"a"}}"#)
        #expect(known["event_type"] == "conversation_start" && known["data"] == nil)
    }

    @Test func idsUsersAndTimes() throws {
        let e = try event(#"""
            {"type":"track","event":"user_message","messageId":"0b6c1e9e-4a4e-4a4e-9c1e-000000000001","userId":"u@example.com",
             "anonymousId":"anon","timestamp":"2026-12-01T10:00:00.000+01:00","sentAt":"2026-12-01T09:00:05.000Z",
             "properties":{"sessionId":"s-9","agentId":"shop"}}
            """#)
        #expect(e["event_id"] == "0b6c1e9e-4a4e-4a4e-9c1e-000000000001" && e["user_id"] == "u@example.com")
        #expect(e["session_id"] == "s-9" && e["agent_id"] == "shop")
        // 09:00:00Z sent at 09:00:05 by the sender's clock, received at `now`: timestamp + receivedAt − sentAt.
        let sent = ISO8601.parse("2026-12-01T09:00:05.000Z")!, stamp = ISO8601.parse("2026-12-01T09:00:00.000Z")!
        #expect(e["timestamp"] == .string(ISO8601.format(ms: stamp + now - sent)))
        // anonymousId when there is no userId; originalTimestamp when there is no timestamp; no sentAt: as sent.
        let a = try event(#"{"type":"track","event":"user_message","messageId":"m2","anonymousId":"anon-1","originalTimestamp":"2026-12-01T08:00:00Z","properties":{"session_id":"s","agent_id":"a"}}"#)
        #expect(a["user_id"] == "anon-1" && a["timestamp"] == .string("2026-12-01T08:00:00.000Z"))
        // The batch's sentAt applies to messages without their own.
        var c = ctx
        c.batchSentAt = .string(ISO8601.format(ms: now - 60_000))
        let b = try event(#"{"type":"track","event":"user_message","messageId":"m3","timestamp":"2026-12-01T08:00:00Z","properties":{"session_id":"s","agent_id":"a"}}"#, c)
        #expect(b["timestamp"] == .string(ISO8601.format(ms: ISO8601.parse("2026-12-01T08:00:00Z")! + 60_000)))
        // No time at all: received now.
        let n = try event(#"{"type":"track","event":"user_message","messageId":"m4","properties":{"session_id":"s","agent_id":"a"}}"#)
        #expect(n["timestamp"] == .string(ISO8601.format(ms: now)))
    }

    @Test func idsThatBreakTheIdRuleStayStable() throws {
        let raw = #"{"type":"track","event":"user_message","messageId":"id with spaces","userId":"John Doe","properties":{"session_id":"s","agent_id":"a"}}"#
        let e1 = try event(raw), e2 = try event(raw)
        let id = try #require(e1["event_id"]?.stringValue), user = try #require(e1["user_id"]?.stringValue)
        #expect(id.hasPrefix("seg-") && id.count == 36 && e2["event_id"] == e1["event_id"])
        #expect(user.hasPrefix("seg-") && user != id)
        // No messageId: the id is a digest of the message, the same for the same message.
        let noID = #"{"type":"track","event":"user_message","timestamp":"2026-12-01T08:00:00Z","properties":{"session_id":"s","agent_id":"a"}}"#
        #expect(try event(noID)["event_id"] == event(noID)["event_id"])
        #expect(try event(noID)["event_id"]?.stringValue?.hasPrefix("seg-") == true)
        #expect(try event(#"{"type":"track","event":"user_message","messageId":42,"properties":{"session_id":7,"agent_id":"a"}}"#)["event_id"] == "42")
    }

    @Test func propertiesBecomeFieldsOrData() throws {
        let e = try event(#"""
            {"type":"track","event":"bot_response","messageId":"m","properties":{"session_id":"s","agent_id":"a","intent":"billing",
             "confidence":0.8,"responseTimeMs":120,"duration_ms":5,"sentiment":"positive","channel":"web","platform":"ios",
             "location":"DE","escalated_to_human":true,"rating":4,"endpoint":"/pay","status_code":503},
             "context":{"channel":"server","os":{"name":"Android"}}}
            """#)
        #expect(e["confidence"] == .number(0.8) && e["response_time_ms"] == .number(120) && e["duration_ms"] == .number(5))
        #expect(e["sentiment"] == "positive" && e["channel"] == "web" && e["platform"] == "ios" && e["location"] == "DE")
        #expect(e["data"] == .object(["intent": "billing", "escalated_to_human": true, "rating": 4, "endpoint": "/pay", "status_code": 503]))
        // context.channel and context.os.name when the properties have none; the batch's context under the message's.
        var c = ctx
        c.batchContext = ["channel": "batch-channel", "os": .object(["name": "Linux"])]
        let f = try event(#"{"type":"track","event":"user_message","messageId":"m","properties":{"session_id":"s","agent_id":"a"},"context":{"os":{"name":"iOS"}}}"#, c)
        #expect(f["channel"] == "batch-channel" && f["platform"] == "iOS")
    }

    @Test func agentFallbacks() throws {
        let noAgent = #"{"type":"track","event":"user_message","messageId":"m","properties":{"session_id":"s"}}"#
        #expect(try rejection(noAgent).hasPrefix("no agent"))
        var c = ctx
        c.defaultAgent = "fallback-bot"
        #expect(try event(noAgent, c)["agent_id"] == "fallback-bot")
        c.keyAgent = "key-bot"
        #expect(try event(noAgent, c)["agent_id"] == "key-bot")
        #expect(try event(#"{"type":"track","event":"user_message","messageId":"m","properties":{"session_id":"s","agent_id":"own"}}"#, c)["agent_id"] == "own")
    }

    @Test func rejectionsAndIgnoredTypes() throws {
        #expect(try rejection(#"{"type":"track","event":"user_message","messageId":"m","properties":{"agent_id":"a"}}"#).contains("session_id"))
        #expect(try rejection(#"{"type":"track","messageId":"m","properties":{"session_id":"s","agent_id":"a"}}"#).contains("event"))
        #expect(try rejection(#"{"event":"x","properties":{"session_id":"s","agent_id":"a"}}"#).contains("type is required"))
        #expect(try rejection(#"{"type":"purchase","event":"x"}"#).contains("is not one of"))
        #expect(try rejection(#"{"type":"track","event":"x","properties":[1]}"#) == "properties must be an object")
        #expect(try rejection(#"{"type":"track","event":"x","timestamp":"yesterday","properties":{"session_id":"s","agent_id":"a"}}"#).contains("ISO-8601"))
        #expect(try rejection("[1]") == "a message must be a JSON object")
        let big = #"{"type":"track","event":"x","properties":{"session_id":"s","agent_id":"a","text":"\#(String(repeating: "x", count: 33_000))"}}"#
        #expect(try rejection(big).contains("at most 32768"))
        for t in ["identify", "page", "screen", "group", "alias"] {
            #expect(SegmentMapping.map(try msg(#"{"type":"\#(t)","userId":"u"}"#), context: ctx) == .ignored(t))
        }
        // The route names the type when the body does not; another type on that route is refused.
        guard case .rejected(let why) = SegmentMapping.map(try msg(#"{"type":"page","event":"x"}"#), impliedType: "track", context: ctx) else {
            Issue.record("a page message on /v1/track was not refused")
            return
        }
        #expect(why == "type must be track (or absent) on /v1/track")
        #expect(try event(#"{"event":"user_message","messageId":"m","properties":{"session_id":"s","agent_id":"a"}}"#, implied: "track")["event_type"] == "user_message")
    }
}
