import Foundation
import InsightsModel
import InsightsQuery
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// Field codes (docs/keys.md, *Field codes*): a bucket's own map stores codes, a bucket written
/// before them keeps its names, and both forms of a field in one map add up for every reader.
extension PathStorageTests {
    func rawMap(_ key: String) async throws -> [String: Int] {
        guard let blob = try await client.send("GET", key: key).bytes else { return [:] }
        var out: [String: Int] = [:]
        for (k, v) in try MessagePack.decode(blob).mapValue ?? [] { out[String(decoding: k, as: UTF8.self)] = Int(v.intValue ?? 0) }
        return out
    }

    @Test func aBucketHoldsCodesBesideTheNamesWrittenBefore() async throws {
        // The hour as an older Redis holds it: two user messages and a classification, by name.
        let hour = "ins:{pth}:c:h:\(H)"
        var set = RedisCommand("SET", key: hour)
        set.append(bytes: MessagePack.encode(.map([("events", 3), ("ev:user_message", 2), ("ev:intent_classified", 1), ("messages", 2),
                                                    ("intents", 1), ("intent:/start", 1), ("conversations", 1)].map { (Array($0.0.utf8), .int($0.1)) })))
        try await client.send(set)
        let events = [ev("c1", 0, .userMessage, "S"), ev("c2", 1, .intentClassified, "S", intent: "/start"),
                      ev("c3", 2, .intentClassified, "S", intent: "billing"), ev("c4", 3, .conversationEnd, "S")]
        #expect(try await ingestor.ingest(events).accepted == 4)
        try await drain()
        // The new counts are coded (an intent beginning with `/` stays in the bucket's own map: no family).
        #expect(try await rawMap(hour) == [
            "events": 3, "ev:user_message": 2, "ev:intent_classified": 1, "messages": 2, "intents": 1, "intent:/start": 1, "conversations": 1,
            "E": 4, "E2": 1, "E4": 2, "E1": 1, "M": 1, "I": 2, "#/start": 1, "#billing": 1, "C": 1, "V": 1, "S": 1,
            "O": 1, "OE": 1, "OA": 1, "OT": 1,
        ])
        #expect(try await client.send("EXISTS", key: hour + ":#").int == 0)
        #expect(try await StorageInspector(client: client).counters("pth", "c:h:\(H)") == [
            "events": 7, "ev:user_message": 3, "ev:intent_classified": 3, "ev:conversation_end": 1, "messages": 3, "intents": 3,
            "intent:/start": 2, "intent:billing": 1, "conversations": 2, "conv_msg": 1, "sess_msgs": 1,
            "out:sessions": 1, "out:ended": 1, "out:automated": 1, "out:turns": 1,
        ])
        // The queries sum both forms.
        let n = try await query.nluMetrics(agent: "pth", start: H * 1000, end: (H + 3600) * 1000)
        #expect(n.intentDistribution == ["/start": 2, "billing": 1] && n.totalClassifications == 3)
        let c = try await query.conversationMetrics(agent: "pth", start: H * 1000, end: (H + 3600) * 1000)
        #expect(c.totalConversations == 2 && c.totalMessages == 3 && c.totalEvents == 7)
        let a = try await query.automationRate(agent: "pth", start: H * 1000, end: (H + 3600) * 1000)
        #expect(a.automationRate == 100)
    }
}
