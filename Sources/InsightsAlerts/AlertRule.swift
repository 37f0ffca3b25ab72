import Foundation
import InsightsModel

/// When a rule fires (docs/alerts.md).
public enum AlertCondition: String, Sendable, Codable, CaseIterable {
    /// The window's value is greater than the threshold.
    case above
    /// The window's value is less than the threshold.
    case below
    /// The window's value lies more than `sensitivity` robust deviations from its baseline (``Anomaly``).
    case anomaly
}

/// A rule as created by `POST /api/v1/alerts/rules` (the secret is kept beside it, never in it).
public struct AlertRule: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var agentID: String
    public var metric: AlertMetric
    public var windowMinutes: Int
    public var condition: AlertCondition
    /// For `above` / `below`; nil for `anomaly`.
    public var threshold: Double?
    /// For `anomaly`: how many robust deviations count as anomalous (default 3); nil otherwise.
    public var sensitivity: Double?
    /// Rates are not judged on fewer events than this in their denominator (counts are always judged).
    public var minCount: Int
    /// Where notifications are POSTed; nil: the alerts are only listed (`GET /api/v1/alerts`).
    public var webhookURL: String?
    public var createdAt: String

    public static let defaultSensitivity = 3.0
    public static let maxNameLength = 200
    public static let maxURLLength = 2048
    /// Most rules one agent may have (each is evaluated once a minute).
    public static let maxRulesPerAgent = 100

    enum CodingKeys: String, CodingKey {
        case id, name, metric, condition, threshold, sensitivity
        case agentID = "agent_id"
        case windowMinutes = "window_minutes"
        case minCount = "min_count"
        case webhookURL = "webhook_url"
        case createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(agentID, forKey: .agentID)
        try c.encode(metric, forKey: .metric)
        try c.encode(windowMinutes, forKey: .windowMinutes)
        try c.encode(condition, forKey: .condition)
        try c.encode(threshold, forKey: .threshold)  // null when absent: every rule has the same fields
        try c.encode(sensitivity, forKey: .sensitivity)
        try c.encode(minCount, forKey: .minCount)
        try c.encode(webhookURL, forKey: .webhookURL)
        try c.encode(createdAt, forKey: .createdAt)
    }

    /// A rule from a request body, or an error naming the first field that is wrong. `id` and
    /// `createdAt` are the server's; unknown fields are refused (a misspelt `threshhold` would
    /// otherwise make a rule that never fires as meant).
    public static func parse(_ body: Data, id: String, createdAt: String, targets: WebhookTargetPolicy) throws(AlertRuleError) -> AlertRule {
        let root: JSONValue
        do { root = try JSONValue.parse(body, maxDepth: 4) } catch {
            throw AlertRuleError(field: nil, message: "the body is not valid JSON: \(error)")
        }
        guard let o = root.objectValue else { throw AlertRuleError(field: nil, message: "the body must be a JSON object") }
        let known: Set<String> = ["name", "agent_id", "metric", "window_minutes", "condition", "threshold", "sensitivity", "min_count", "webhook_url"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw AlertRuleError(field: unknown, message: "unknown field; the fields are \(known.sorted().joined(separator: ", "))")
        }
        func string(_ f: String) throws(AlertRuleError) -> String? {
            guard let v = o[f], !v.isNull else { return nil }
            guard let s = v.stringValue else { throw AlertRuleError(field: f, message: "must be a string") }
            return s
        }
        func number(_ f: String) throws(AlertRuleError) -> Double? {
            guard let v = o[f], !v.isNull else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw AlertRuleError(field: f, message: "must be a finite number") }
            return d
        }
        func integer(_ f: String, _ range: ClosedRange<Int>) throws(AlertRuleError) -> Int? {
            guard let d = try number(f) else { return nil }
            guard let i = Int(exactly: d), range.contains(i) else {
                throw AlertRuleError(field: f, message: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return i
        }
        guard let name = try string("name"), !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw AlertRuleError(field: "name", message: "is required (a non-empty string)")
        }
        guard name.count <= maxNameLength, !name.contains(where: { $0.isNewline }) else {
            throw AlertRuleError(field: "name", message: "must be one line of at most \(maxNameLength) characters")
        }
        guard let agent = try string("agent_id") else { throw AlertRuleError(field: "agent_id", message: "is required") }
        do throws(EventValidationError) { try IdentifierRule.check(agent, field: "agent_id") } catch {
            throw AlertRuleError(field: "agent_id", message: error.message)
        }
        guard let metricText = try string("metric") else { throw AlertRuleError(field: "metric", message: "is required") }
        guard let metric = AlertMetric(metricText) else {
            throw AlertRuleError(field: "metric", message: "unknown metric '\(metricText.prefix(80))'; one of \(AlertMetric.headlineNames.joined(separator: ", ")), escalations, events:<event_type>, intent_share:<intent>")
        }
        guard let window = try integer("window_minutes", 1...60) else {
            throw AlertRuleError(field: "window_minutes", message: "is required (1 to 60)")
        }
        guard let conditionText = try string("condition") else { throw AlertRuleError(field: "condition", message: "is required") }
        guard let condition = AlertCondition(rawValue: conditionText) else {
            throw AlertRuleError(field: "condition", message: "must be above, below or anomaly")
        }
        let threshold = try number("threshold"), sensitivity = try number("sensitivity")
        switch condition {
        case .above, .below:
            guard threshold != nil else { throw AlertRuleError(field: "threshold", message: "is required for the condition \(condition.rawValue)") }
            guard sensitivity == nil else { throw AlertRuleError(field: "sensitivity", message: "applies only to the condition anomaly") }
        case .anomaly:
            guard threshold == nil else { throw AlertRuleError(field: "threshold", message: "does not apply to the condition anomaly (use sensitivity)") }
            if let s = sensitivity, !(s > 0 && s <= 100) { throw AlertRuleError(field: "sensitivity", message: "must be a number in (0, 100]") }
        }
        let minCount = try integer("min_count", 1...1_000_000_000) ?? 1
        var url: String?
        if let u = try string("webhook_url") {
            guard u.utf8.count <= maxURLLength else { throw AlertRuleError(field: "webhook_url", message: "must be at most \(maxURLLength) bytes") }
            do throws(WebhookTargetError) { _ = try targets.checkURL(u) } catch {
                throw AlertRuleError(field: "webhook_url", message: error.message)
            }
            url = u
        }
        return AlertRule(id: id, name: name, agentID: agent, metric: metric, windowMinutes: window, condition: condition,
                         threshold: threshold, sensitivity: condition == .anomaly ? (sensitivity ?? defaultSensitivity) : nil,
                         minCount: minCount, webhookURL: url, createdAt: createdAt)
    }

    /// A new rule id: 16 random lowercase hex digits (fits ``IdentifierRule`` and key names).
    public static func newID() -> String { randomHex(8) }

    /// A new webhook secret: 32 random bytes as 64 hex digits.
    public static func newSecret() -> String { randomHex(32) }

    static func randomHex(_ bytes: Int) -> String {
        var g = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255, using: &g)
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `id` could be a rule id (checked before it goes into a key name).
    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 16 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// What is wrong with a rule: the field (nil: the body as a whole) and why.
public struct AlertRuleError: Error, Sendable, CustomStringConvertible {
    public var field: String?
    public var message: String
    public var description: String { field.map { "\($0): \(message)" } ?? message }
}
