import Foundation
@testable import InsightsAlerts
import InsightsModel
import InsightsQuery
import Testing

@Suite("Alert rules: parsing")
struct AlertRuleTests {
    let open = WebhookTargetPolicy(allowPrivate: true), strict = WebhookTargetPolicy(allowPrivate: false)

    func parse(_ json: String, _ policy: WebhookTargetPolicy? = nil) throws(AlertRuleError) -> AlertRule {
        try AlertRule.parse(Data(json.utf8), id: "0123456789abcdef", createdAt: "2026-12-01T00:00:00.000Z", targets: policy ?? open)
    }

    func field(_ json: String, _ policy: WebhookTargetPolicy? = nil) -> String? {
        do { _ = try parse(json, policy) } catch { return error.field ?? "(body)" }
        return nil
    }

    @Test func theIssuesExample() throws {
        let r = try parse(#"{"name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 20, "min_count": 20, "webhook_url": "https://hooks.example.com/insights"}"#)
        #expect(r.metric == .fallbackRate && r.windowMinutes == 5 && r.condition == .above && r.threshold == 20 && r.minCount == 20)
        #expect(r.webhookURL == "https://hooks.example.com/insights" && r.sensitivity == nil)
        // Stored and read back as the same rule.
        #expect(try JSONDecoder().decode(AlertRule.self, from: JSONEncoder().encode(r)) == r)
    }

    @Test func defaults() throws {
        let r = try parse(#"{"name": "n", "agent_id": "a", "metric": "intent_share:billing", "window_minutes": 60, "condition": "anomaly"}"#)
        #expect(r.metric == .intentShare("billing") && r.sensitivity == 3 && r.minCount == 1 && r.threshold == nil && r.webhookURL == nil)
        #expect(try parse(#"{"name": "n", "agent_id": "a", "metric": "events:workflow_failed", "window_minutes": 1, "condition": "below", "threshold": 0}"#).metric == .events(.workflowFailed))
    }

    @Test(arguments: [
        ("[]", "(body)"), ("{", "(body)"),
        (#"{"agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "name"),
        (#"{"name": "", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "name"),
        (#"{"name": "n", "agent_id": "a b", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "agent_id"),
        (#"{"name": "n", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "agent_id"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallbackrate", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "metric"),
        (#"{"name": "n", "agent_id": "a", "metric": "events:nope", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "metric"),
        (#"{"name": "n", "agent_id": "a", "metric": "intent_share:", "window_minutes": 5, "condition": "above", "threshold": 1}"#, "metric"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 0, "condition": "above", "threshold": 1}"#, "window_minutes"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 61, "condition": "above", "threshold": 1}"#, "window_minutes"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 2.5, "condition": "above", "threshold": 1}"#, "window_minutes"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": "5", "condition": "above", "threshold": 1}"#, "window_minutes"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "over", "threshold": 1}"#, "condition"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above"}"#, "threshold"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "anomaly", "threshold": 1}"#, "threshold"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "anomaly", "sensitivity": 0}"#, "sensitivity"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "sensitivity": 2}"#, "sensitivity"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "min_count": 0}"#, "min_count"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshhold": 1}"#, "threshhold"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "webhook_url": "ftp://x.example/"}"#, "webhook_url"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "webhook_url": "not a url"}"#, "webhook_url"),
        (#"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "webhook_url": "https://u:p@x.example/"}"#, "webhook_url"),
    ])
    func invalidRulesNameTheField(json: String, expected: String) {
        #expect(field(json) == expected)
    }

    /// Forbidden by default, allowed with --webhook-allow-private.
    @Test(arguments: [
        "http://127.0.0.1:9000/h", "http://127.1.2.3/", "http://localhost/h", "http://api.localhost/", "http://10.0.0.5/",
        "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[::1]/", "http://[fd00:ec2::254]/",
        "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::]/",
    ])
    func privateTargets(url: String) throws {
        let json = #"{"name": "n", "agent_id": "a", "metric": "fallback_rate", "window_minutes": 5, "condition": "above", "threshold": 1, "webhook_url": "\#(url)"}"#
        #expect(field(json, strict) == "webhook_url")
        #expect(field(json, open) == nil)
    }

    @Test(arguments: ["https://hooks.example.com/x", "http://93.184.216.34/", "http://172.32.0.1/", "http://[2606:4700::1111]/", "https://8.8.8.8/"])
    func publicTargets(url: String) throws {
        #expect(throws: Never.self) { _ = try strict.checkURL(url) }
    }

    @Test func resolvedAddressesAreChecked() {
        #expect(throws: WebhookTargetError.self) { try strict.checkResolved(host: "localhost") }
        #expect(throws: WebhookTargetError.self) { try strict.checkResolved(host: "127.0.0.1") }
        #expect(throws: WebhookTargetError.self) { try strict.checkResolved(host: "no-such-host.invalid") }
        #expect(throws: Never.self) { try open.checkResolved(host: "localhost") }
    }

    /// Every metric from one set of counters, computed by hand.
    @Test func metricValues() {
        let s = BucketSums(fields: [
            "intents": 40, "intent:fallback": 10, "intent:billing": 6, "ev:intent_classified": 50, "low_conf": 5,
            "conf_sum_u": 30_000_000, "conf_count": 40, "rt_sum": 9000, "rt_count": 30, "ev:workflow_started": 8,
            "ev:workflow_completed": 6, "out:sessions": 20, "out:automated": 15, "conversations": 12, "messages": 70,
            "escalations": 3, "ev:error": 4,
        ])
        func v(_ m: String) -> (Double, Int?) { AlertMetric(m)!.measure(s) }
        #expect(v("fallback_rate") == (25, 40) && v("low_confidence_rate") == (10, 50) && v("avg_confidence") == (0.75, 40))
        #expect(v("avg_response_time_ms") == (300, 30) && v("completion_rate") == (75, 8) && v("automation_rate") == (75, 20))
        #expect(v("total_conversations") == (12, nil) && v("total_messages") == (70, nil) && v("escalations") == (3, nil))
        #expect(v("events:error") == (4, nil) && v("intent_share:billing") == (15, 40))
        #expect(v("fallback_rate").0 == 25 && AlertMetric("p95_response_time_ms")!.measure(BucketSums()).0 == 0)
    }
}

@Suite("Anomaly scores")
struct AnomalyTests {
    /// Ordinary noise: 24 hourly values around 100 (median 100, deviations 0–4 → MAD 1.5, scale
    /// 1.4826 × 1.5 = 2.22 < the Poisson floor √100 = 10). A value of 112 scores 1.2: not anomalous.
    /// The same series with 160 in the last window scores (160 − 100) / 10 = 6: anomalous.
    @Test func spikeVersusNoise() throws {
        let noise: [Double] = [100, 102, 98, 101, 99, 104, 96, 100, 103, 97, 100, 102, 98, 101, 99, 100, 104, 96, 100, 102, 98, 101, 99, 100]
        let floor = { (m: Double) in Anomaly.noiseFloor(.count, median: m, denominator: nil) }
        let calm = try #require(Anomaly.score(112, baseline: noise, floor: floor))
        #expect(calm.baseline == 100 && calm.scale == 10 && abs(calm.score - 1.2) < 1e-12)
        let spike = try #require(Anomaly.score(160, baseline: noise, floor: floor))
        #expect(abs(spike.score - 6) < 1e-12 && abs(spike.score) > 3)
        #expect(Anomaly.median(noise.map { abs($0 - 100) }) == 1.5)
    }

    /// A wide baseline: MAD dominates the floor. Values 10, 20, …, 90 (median 50, MAD 20 →
    /// scale 29.652): 150 scores 3.372, 130 scores 2.698.
    @Test func madScale() throws {
        let b: [Double] = [10, 20, 30, 40, 50, 60, 70, 80, 90]
        let s = try #require(Anomaly.score(150, baseline: b) { _ in 1 })
        #expect(abs(s.scale - 29.652) < 1e-9 && abs(s.score - 100 / 29.652) < 1e-9)
        #expect(try #require(Anomaly.score(130, baseline: b) { _ in 1 }).score < 3)
    }

    @Test func tooShortABaselineIsNotJudged() {
        #expect(Anomaly.score(1000, baseline: [1, 1, 1, 1, 1]) { _ in 1 } == nil)
    }

    /// Noise floors: a percentage at median 10 % on 400 events is 100·√(0.1·0.9/400) = 1.5 points;
    /// on 10 000 events it would be 0.3, so the 1-point minimum holds; durations 5 %; fractions 0.01.
    @Test func noiseFloors() {
        #expect(abs(Anomaly.noiseFloor(.percent, median: 10, denominator: 400) - 1.5) < 1e-12)
        #expect(Anomaly.noiseFloor(.percent, median: 10, denominator: 10_000) == 1)
        #expect(Anomaly.noiseFloor(.milliseconds, median: 800, denominator: 30) == 40)
        #expect(Anomaly.noiseFloor(.fraction, median: 0.8, denominator: 30) == 0.01)
        #expect(Anomaly.noiseFloor(.count, median: 0, denominator: nil) == 1)
    }
}

@Suite("Anomaly scan")
struct AnomalyScanTests {
    /// 8 days of hours (7 × 24 + 24 of baseline, then 24 points). Messages alternate 98, 100, 102
    /// (hour index mod 3). A point's baseline (the 24 hours before it and the same hour 2–7 days
    /// back, which has its own value: 24 ≡ 0 mod 3) holds 8 × 98, 8 × 100, 8 × 102 and 6 × its own
    /// value: median 100, MAD 2 (scale max(2.965, √100) = 10) for a 100-point; a 98-point scores
    /// (98 − 100) / 10 = −0.2. Nothing is anomalous. With 160 messages at point 7 (a 100-hour),
    /// (160 − 100) / 10 = 6 > 3: exactly that point. Intents: 100 an hour, 10 fallbacks (10 %); 40
    /// at point 12: floor 100·√(0.1 × 0.9 / 100) = 3, MAD 0 → (40 − 10) / 3 = 10.
    func counters(spikeAt: Int?, fallbackSpikeAt: Int?) -> [[String: Int]] {
        let back = 7 * 24
        return (0..<(back + 24)).map { i in
            var c = ["messages": [98, 100, 102][i % 3], "intents": 100, "intent:fallback": 10]
            if let s = spikeAt, i == back + s { c["messages"] = 160 }
            if let s = fallbackSpikeAt, i == back + s { c["intent:fallback"] = 40 }
            return c
        }
    }

    func scan(_ c: [[String: Int]], minCount: Int = 20) -> [AnomalyScan.Point] {
        AnomalyScan.anomalies(counters: c, from: 7 * 24, starts: (0..<Int64(c.count)).map { $0 * 3600 }, resolution: .hour,
                              sensitivity: 3, minCount: minCount)
    }

    @Test func noiseIsNotAnomalous() {
        #expect(scan(counters(spikeAt: nil, fallbackSpikeAt: nil)).isEmpty)
    }

    @Test func injectedSpikesAreFound() throws {
        let found = scan(counters(spikeAt: 7, fallbackSpikeAt: 12))
        #expect(found.map(\.metric) == ["total_messages", "fallback_rate"])
        let m = try #require(found.first), f = try #require(found.last)
        #expect(m.at == ISO8601.format(ms: Int64(7 * 24 + 7) * 3_600_000) && m.value == 160 && m.baseline == 100 && abs(m.score - 6) < 1e-12)
        #expect(f.value == 40 && f.baseline == 10 && abs(f.score - 10) < 1e-9)
        // Rates on fewer events than min_count are not judged.
        #expect(scan(counters(spikeAt: nil, fallbackSpikeAt: 12), minCount: 101).isEmpty)
    }
}
