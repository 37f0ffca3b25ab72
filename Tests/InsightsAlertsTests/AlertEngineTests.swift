import Crypto
import Foundation
@testable import InsightsAlerts
import InsightsModel
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// Rules evaluated against minute counters written by the real ingest script on a private
/// redis-server; every expected value is computed by hand in the comments.
@Suite("Alert engine")
struct AlertEngineTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor
    let store: AlertStore
    /// M0: the start of the minute 90 minutes ago (ms): minute counters are kept 48 h.
    let M0: Int64

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 4)
        ingestor = try EventIngestor(client: client)
        store = AlertStore(client: client)
        M0 = (EventClock.nowMs() / 60_000 - 90) * 60_000
    }

    func engine(_ configure: (inout AlertConfiguration) -> Void = { _ in }) throws -> AlertEngine {
        var c = AlertConfiguration()
        c.jitterMs = 0
        c.targets = WebhookTargetPolicy(allowPrivate: true)
        c.retryBaseMs = 200
        c.retryMaxMs = 400
        c.attemptTimeout = .seconds(2)
        configure(&c)
        return try AlertEngine(client: client, configuration: c)
    }

    func minute(_ k: Int) -> Int64 { M0 + Int64(k) * 60_000 }

    /// Per minute k = 0…9 of `acme`: 10 intent classifications, `fallbacks[k]` of them `fallback`.
    /// `other` gets 10 fallbacks out of 10 in every minute (a rule on acme must never see them).
    static let fallbacks = [1, 1, 1, 1, 5, 6, 1, 1, 1, 1]

    func loadFallbacks() async throws {
        var events: [AnalyticsEvent] = []
        for k in 0..<10 {
            for i in 0..<10 {
                let intent = i < Self.fallbacks[k] ? "fallback" : "greeting"
                events.append(AnalyticsEvent(eventID: "a-\(k)-\(i)", eventType: .intentClassified, timestampMs: minute(k) + Int64(i) * 1000,
                                             sessionID: "s\(k)", agentID: "acme", data: ["intent": .string(intent)]))
                events.append(AnalyticsEvent(eventID: "o-\(k)-\(i)", eventType: .intentClassified, timestampMs: minute(k) + Int64(i) * 1000,
                                             sessionID: "t\(k)", agentID: "other", data: ["intent": .string("fallback")]))
            }
        }
        events.shuffle()
        #expect(try await ingestor.ingest(events).accepted == events.count)
        // Re-sent: de-dup keeps every count exact.
        #expect(try await ingestor.ingest(Array(events.prefix(50))).duplicates == 50)
    }

    func makeRule(_ json: String) async throws -> (AlertRule, String) {
        let rule = try AlertRule.parse(Data(json.utf8), id: AlertRule.newID(), createdAt: ISO8601.format(ms: EventClock.nowMs()),
                                       targets: WebhookTargetPolicy(allowPrivate: true))
        let secret = AlertRule.newSecret()
        try await store.create(rule, secret: secret)
        return (rule, secret)
    }

    /// Window of 2 minutes ending at minute k: minutes k−2 and k−1.
    ///   k=1: 10 classifications (< min_count 15) → skip;  k=2…4: 2/20 = 10 % → ok;
    ///   k=5: (1+5)/20 = 30 % → fired (value 30);  k=6: 11/20 = 55 % and k=7: 7/20 = 35 % → same;
    ///   k=8: 2/20 = 10 % → resolved.
    @Test func aboveFiresAndResolvesAtTheRightMinutes() async throws {
        try await loadFallbacks()
        let (rule, _) = try await makeRule(#"{"name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 20, "min_count": 15}"#)
        let e = try engine()
        var seen: [String] = [], values: [Double?] = []
        for k in 1...9 {
            let o = try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000)
            #expect(o.count == 1)
            seen.append(o[0].outcome)
            values.append(o[0].value)
        }
        #expect(seen == ["skip", "same", "same", "same", "fired", "same", "same", "resolved", "same"])
        #expect(values[4] == 30 && values[5] == 55 && values[6] == 35 && values[7] == 10)
        // Judged once: the same minute again changes nothing.
        #expect(try await e.evaluate(windowEnd: minute(5), at: minute(9)).map(\.outcome) == ["done"])

        let alerts = try await store.alerts(agents: ["acme"], state: nil, limit: 10)
        #expect(alerts.count == 1)
        let a = try #require(alerts.first)
        #expect(a.ruleID == rule.id && a.state == "resolved" && a.value == 30 && a.threshold == 20 && a.metric == "fallback_rate")
        #expect(a.windowStart == ISO8601.format(ms: minute(3)) && a.windowEnd == ISO8601.format(ms: minute(5)))
        #expect(a.firedAt == ISO8601.format(ms: minute(5) + 12_000))
        #expect(a.resolvedAt != nil)
        #expect(try await store.alerts(agents: ["acme"], state: "firing", limit: 10).isEmpty)
        #expect(try await store.rule(rule.id)?.state == "ok")
    }

    /// min_count above every window's denominator (20): never judged, never fires. `other`'s data
    /// (100 % fallbacks) never reaches acme's rules; a rule on `other` does fire, at its first window.
    @Test func minCountAndAgentIsolation() async throws {
        try await loadFallbacks()
        let (strict, _) = try await makeRule(#"{"name": "strict", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 5, "min_count": 21}"#)
        let (onOther, _) = try await makeRule(#"{"name": "other", "agent_id": "other", "metric": "fallback_rate", "window_minutes": 1, "condition": "above", "threshold": 99}"#)
        let e = try engine()
        var outcomes: [String: [String]] = [:]
        for k in 1...10 {
            for o in try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000) { outcomes[o.ruleID, default: []].append(o.outcome) }
        }
        #expect(outcomes[strict.id] == Array(repeating: "skip", count: 10))
        #expect(outcomes[onOther.id] == ["fired"] + Array(repeating: "same", count: 9))
        #expect(try await store.alerts(agents: ["acme"], state: nil, limit: 10).isEmpty)
        let theirs = try await store.alerts(agents: ["other"], state: "firing", limit: 10)
        #expect(theirs.count == 1 && theirs[0].value == 100 && theirs[0].windowEnd == ISO8601.format(ms: minute(1)))
    }

    /// `below` on a count and `events:<type>`: in minutes 0–9 acme has one new session (a
    /// conversation) and 10 classifications a minute, nothing after.
    ///   total_conversations over 5 minutes below 3: k=1 → 1 (fired), k=2 → 2 (same), k=3 → 3 (resolved),
    ///   then 4 or 5 (k=11: minutes 6–10 → 4);
    ///   events:intent_classified over 3 minutes above 25: k=1 → 10, k=2 → 20, k=3 → 30 (fired) …
    ///   k=11: minutes 8, 9, 10 → 20 (resolved).
    @Test func belowAndEventCounts() async throws {
        try await loadFallbacks()
        let (quiet, _) = try await makeRule(#"{"name": "no conversations", "agent_id": "acme", "metric": "total_conversations", "window_minutes": 5, "condition": "below", "threshold": 3}"#)
        let (volume, _) = try await makeRule(#"{"name": "volume", "agent_id": "acme", "metric": "events:intent_classified", "window_minutes": 3, "condition": "above", "threshold": 25}"#)
        let e = try engine()
        var outcomes: [String: [String]] = [:], values: [String: [Double]] = [:]
        for k in 1...11 {
            for o in try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000) {
                outcomes[o.ruleID, default: []].append(o.outcome)
                values[o.ruleID, default: []].append(o.value ?? -1)
            }
        }
        #expect(values[quiet.id] == [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 4])
        #expect(outcomes[quiet.id] == ["fired", "same", "resolved"] + Array(repeating: "same", count: 8))
        #expect(values[volume.id] == [10, 20, 30, 30, 30, 30, 30, 30, 30, 30, 20])
        #expect(outcomes[volume.id] == ["same", "same", "fired"] + Array(repeating: "same", count: 7) + ["resolved"])
    }

    /// Three engines judging the same minutes at the same time: one transition each, one
    /// notification each, delivered once, signed with the rule's secret.
    @Test func threeEnginesNotifyOncePerTransition() async throws {
        try await loadFallbacks()
        let receiver = try WebhookReceiver()
        try receiver.start()
        defer { receiver.stop() }
        let (rule, secret) = try await makeRule(#"{"name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 20, "min_count": 15, "webhook_url": "\#(receiver.url)"}"#)
        let engines = try (0..<3).map { _ in try engine() }
        var fired = 0, resolved = 0
        for k in 1...9 {
            let end = minute(k)
            async let a = engines[0].evaluate(windowEnd: end, at: end + 12_000)
            async let b = engines[1].evaluate(windowEnd: end, at: end + 12_000)
            async let c = engines[2].evaluate(windowEnd: end, at: end + 12_000)
            for o in try await a + b + c {
                if o.outcome == "fired" { fired += 1 }
                if o.outcome == "resolved" { resolved += 1 }
            }
            for e in engines { try await e.deliverDue() }
        }
        #expect(fired == 1 && resolved == 1)
        try await waitUntil { receiver.received.count >= 2 }
        try await Task.sleep(for: .milliseconds(300))
        for e in engines { try await e.deliverDue() }
        let got = receiver.received
        #expect(got.count == 2)
        let bodies = try got.map { try JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] ?? [:] }
        #expect(bodies.map { $0["state"] as? String } == ["firing", "resolved"])
        #expect(bodies[0]["value"] as? Double == 30 && bodies[1]["value"] as? Double == 10)
        #expect(bodies[0]["rule_id"] as? String == rule.id && bodies[0]["agent_id"] as? String == "acme")
        #expect(bodies[0]["window_start"] as? String == ISO8601.format(ms: minute(3)))
        #expect(bodies[0]["window_end"] as? String == ISO8601.format(ms: minute(5)))
        #expect(bodies[0]["threshold"] as? Double == 20 && bodies[0]["metric"] as? String == "fallback_rate")
        for r in got {
            let mac = HMAC<SHA256>.authenticationCode(for: r.body, using: SymmetricKey(data: Array(secret.utf8)))
            #expect(r.headers["x-insights-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
            #expect(r.headers["content-type"] == "application/json")
        }
        #expect(got[0].headers["x-insights-delivery"] == "\(rule.id):\(minute(5)):firing")
        let log = try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10)
        #expect(log.map(\.outcome) == ["delivered", "delivered"] && log.allSatisfy { $0.statusCode == 200 && $0.attempt == 1 })
    }

    /// A receiver that refuses connections, then answers 503, then 200: the notification is
    /// retried with backoff and delivered once; every attempt is recorded.
    @Test func downThenUpReceiverGetsItOnce() async throws {
        try await loadFallbacks()
        let receiver = try WebhookReceiver()  // not listening yet: connection refused
        let (rule, _) = try await makeRule(#"{"name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 20, "min_count": 15, "webhook_url": "\#(receiver.url)"}"#)
        let e = try engine()
        for k in 1...5 { _ = try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000) }
        #expect(try await e.deliverDue() == 1)
        try await waitUntil { try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10).count == 1 }
        try receiver.start()
        defer { receiver.stop() }
        receiver.respond(with: 503)
        try await waitUntil {
            try await e.deliverDue()
            let attempts = try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10).count
            return receiver.received.count == 1 && attempts == 2
        }
        receiver.respond(with: 200)
        try await waitUntil {
            try await e.deliverDue()
            return try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10).first?.outcome == "delivered"
        }
        try await Task.sleep(for: .milliseconds(800))
        try await e.deliverDue()
        #expect(receiver.received.map(\.status) == [503, 200])
        let log = try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10)
        #expect(log.map(\.outcome) == ["delivered", "retry", "retry"])
        #expect(log.map(\.attempt) == [3, 2, 1])
        try #require(log.count == 3)
        #expect(log[2].statusCode == nil && log[2].error != nil && log[1].statusCode == 503)
        #expect(try await client.send("ZCARD", key: AgentKeys("acme").deliveryQueue).int == 0)
    }

    /// A receiver that takes 3 s to answer holds only its own notification: another rule's, to
    /// another receiver, is delivered meanwhile.
    @Test func aSlowReceiverDelaysNoOtherNotification() async throws {
        try await loadFallbacks()
        let slow = try WebhookReceiver(), fast = try WebhookReceiver()
        try slow.start()
        try fast.start()
        defer { slow.stop(); fast.stop() }
        slow.respond(with: 200, delayMs: 3000)
        for (name, url) in [("slow", slow.url), ("fast", fast.url)] {
            _ = try await makeRule(#"{"name": "\#(name)", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 20, "webhook_url": "\#(url)"}"#)
        }
        let e = try engine { $0.attemptTimeout = .seconds(10) }
        for k in 1...5 { _ = try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000) }
        let started = ContinuousClock.now
        #expect(try await e.deliverDue() == 2)
        try await waitUntil { fast.received.count == 1 }
        #expect(ContinuousClock.now - started < .seconds(2.5) && slow.received.isEmpty)
        try await waitUntil { slow.received.count == 1 }
    }

    /// A target the policy forbids (resolved at send time) fails at once, without a request.
    @Test func forbiddenTargetFailsWithoutSending() async throws {
        try await loadFallbacks()
        let receiver = try WebhookReceiver()
        try receiver.start()
        defer { receiver.stop() }
        let (rule, _) = try await makeRule(#"{"name": "x", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 2, "condition": "above", "threshold": 20, "webhook_url": "http://localhost:\#(receiver.port)/hook"}"#)
        let e = try engine { $0.targets = WebhookTargetPolicy(allowPrivate: false) }
        for k in 1...5 { _ = try await e.evaluate(windowEnd: minute(k), at: minute(k) + 12_000) }
        try await e.deliverDue()
        try await waitUntil { try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10).count == 1 }
        let log = try await store.deliveries(agent: "acme", ruleID: rule.id, limit: 10)
        try #require(log.count == 1)
        #expect(log[0].outcome == "failed" && (log[0].error ?? "").contains("loopback"))
        #expect(receiver.received.isEmpty)
    }

    /// 24 h of minute data: total_messages per minute 10, 11, 12, 10, 11, 12, … (median 11, MAD 1,
    /// scale max(1.4826 × 1, √11 = 3.317) = 3.317). `spiky`'s last minute has 30 messages:
    /// score (30 − 11) / 3.317 = 5.73 > 3 → fired; `calm`'s has 13: 0.60 → ok.
    @Test func anomalyRuleFiresOnASpikeNotOnNoise() async throws {
        let end = (EventClock.nowMs() / 60_000 - 2) * 60_000
        var events: [AnalyticsEvent] = []
        for agent in ["spiky", "calm"] {
            for m in 1...1440 {
                let start = end - Int64(m + 1) * 60_000  // the minutes before the window [end − 1 min, end)
                for i in 0..<(10 + m % 3) {
                    events.append(AnalyticsEvent(eventID: "\(agent)-\(m)-\(i)", eventType: .userMessage, timestampMs: start + Int64(i) * 100,
                                                 sessionID: "s\(m)", agentID: agent))
                }
            }
            for i in 0..<(agent == "spiky" ? 30 : 13) {
                events.append(AnalyticsEvent(eventID: "\(agent)-last-\(i)", eventType: .userMessage, timestampMs: end - 60_000 + Int64(i) * 100,
                                             sessionID: "last", agentID: agent))
            }
        }
        for chunk in stride(from: 0, to: events.count, by: 5000) {
            _ = try await ingestor.ingest(Array(events[chunk..<min(chunk + 5000, events.count)]))
        }
        let (spiky, _) = try await makeRule(#"{"name": "spike", "agent_id": "spiky", "metric": "total_messages", "window_minutes": 1, "condition": "anomaly"}"#)
        let (calm, _) = try await makeRule(#"{"name": "calm", "agent_id": "calm", "metric": "total_messages", "window_minutes": 1, "condition": "anomaly"}"#)
        let o = try await engine().evaluate(windowEnd: end, at: end + 12_000)
        let s = try #require(o.first { $0.ruleID == spiky.id }), c = try #require(o.first { $0.ruleID == calm.id })
        #expect(s.outcome == "fired" && s.value == 30 && c.outcome == "same" && c.value == 13)
        #expect(s.score?.baseline == 11 && c.score?.baseline == 11)
        #expect(abs((s.score?.score ?? 0) - 19 / 11.0.squareRoot()) < 1e-9)
        #expect(abs((c.score?.score ?? 0) - 2 / 11.0.squareRoot()) < 1e-9)
        let alert = try #require(try await store.alerts(agents: ["spiky"], state: "firing", limit: 5).first)
        #expect(alert.baseline == 11 && alert.threshold == nil)
    }

    func waitUntil(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws {
        let clock = ContinuousClock(), deadline = clock.now + timeout
        while clock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(timeout)")
    }
}
