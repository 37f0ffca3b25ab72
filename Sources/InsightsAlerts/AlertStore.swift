#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import InsightsModel
import RedisClient

/// One alert: a rule's transition to firing, and its resolution once it came (`GET /api/v1/alerts`).
public struct AlertRecord: Sendable, Codable, Equatable {
    public var ruleID: String
    public var name: String
    public var agentID: String
    public var metric: String
    /// `firing` or `resolved`.
    public var state: String
    /// The metric's value over the window that fired the rule.
    public var value: Double
    public var threshold: Double?
    public var windowStart: String
    public var windowEnd: String
    public var firedAt: String
    public var resolvedAt: String?
    /// Anomaly rules: the baseline (median) and the score of the value against it.
    public var baseline: Double?
    public var score: Double?

    enum CodingKeys: String, CodingKey {
        case name, metric, state, value, threshold, baseline, score
        case ruleID = "rule_id"
        case agentID = "agent_id"
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case firedAt = "fired_at"
        case resolvedAt = "resolved_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ruleID, forKey: .ruleID)
        try c.encode(name, forKey: .name)
        try c.encode(agentID, forKey: .agentID)
        try c.encode(metric, forKey: .metric)
        try c.encode(state, forKey: .state)
        try c.encode(value, forKey: .value)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(windowStart, forKey: .windowStart)
        try c.encode(windowEnd, forKey: .windowEnd)
        try c.encode(firedAt, forKey: .firedAt)
        try c.encode(resolvedAt, forKey: .resolvedAt)
        try c.encodeIfPresent(baseline, forKey: .baseline)
        try c.encodeIfPresent(score, forKey: .score)
    }
}

/// A rule as stored, with its evaluation state (`GET /api/v1/alerts/rules`).
public struct StoredRule: Sendable, Equatable {
    public var rule: AlertRule
    /// `ok` or `firing`.
    public var state: String
    /// The end of the last window judged (ms), nil if never.
    public var lastWindowEnd: Int64?
    /// When the current firing began (ms), nil while ok.
    public var firingSince: Int64?
    public var secret: String

    public init(rule: AlertRule, state: String, lastWindowEnd: Int64?, firingSince: Int64?, secret: String) {
        self.rule = rule
        self.state = state
        self.lastWindowEnd = lastWindowEnd
        self.firingSince = firingSince
        self.secret = secret
    }
}

/// Rules, alerts and delivery attempts in Redis (docs/alerts.md, docs/keys.md).
public struct AlertStore: Sendable {
    public let client: RedisClient

    public init(client: RedisClient) { self.client = client }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// Every rule id with its agent (`ins:alert-rules`).
    public func index() async throws -> [(id: String, agent: String)] {
        let flat = try await client.send(RedisCommand("HGETALL", key: AgentKeys.alertRules)).array ?? []
        var out: [(String, String)] = []
        var i = 0
        while i + 1 < flat.count {
            if let id = flat[i].string, let agent = flat[i + 1].string { out.append((id, agent)) }
            i += 2
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Stores a new rule; refuses past ``AlertRule/maxRulesPerAgent`` rules for its agent.
    public func create(_ rule: AlertRule, secret: String) async throws(AlertStoreError) {
        do {
            let existing = try await index().filter { $0.agent == rule.agentID }.count
            guard existing < AlertRule.maxRulesPerAgent else {
                throw AlertStoreError.tooManyRules(rule.agentID, AlertRule.maxRulesPerAgent)
            }
            let def = String(decoding: try Self.encoder().encode(rule), as: UTF8.self)
            let keys = AgentKeys(rule.agentID)
            // The rule first, then the index that evaluators read: an indexed rule always exists.
            _ = try await client.send(RedisCommand("HSET", key: keys.alertRule(rule.id), "def", def, "secret", secret, "state", "ok"))
            _ = try await client.send(RedisCommand("HSET", key: AgentKeys.alertRules, rule.id, rule.agentID))
        } catch let e as AlertStoreError {
            throw e
        } catch {
            throw .redis(error)
        }
    }

    /// One rule, nil if there is none with this id.
    public func rule(_ id: String) async throws -> StoredRule? {
        guard AlertRule.isValidID(id),
              let agent = try await client.send(RedisCommand("HGET", key: AgentKeys.alertRules, id)).string
        else { return nil }
        return try await rules([(id, agent)]).first
    }

    /// The rules of `agents` (nil: all), sorted by agent then name.
    public func rules(agents: Set<String>?) async throws -> [StoredRule] {
        try await rules(index().filter { agents?.contains($0.agent) ?? true })
    }

    func rules(_ entries: [(id: String, agent: String)]) async throws -> [StoredRule] {
        if entries.isEmpty { return [] }
        let replies = try await client.pipeline(entries.map {
            RedisCommand("HMGET", key: AgentKeys($0.agent).alertRule($0.id), "def", "secret", "state", "last", "since")
        })
        var out: [StoredRule] = []
        for r in replies {
            guard let f = try r.get().array, f.count == 5, let def = f[0].bytes, let secret = f[1].string else { continue }
            let rule = try JSONDecoder().decode(AlertRule.self, from: Data(def))
            out.append(StoredRule(rule: rule, state: f[2].string ?? "ok", lastWindowEnd: f[3].string.flatMap { Int64($0) },
                                  firingSince: f[4].string.flatMap { Int64($0) }, secret: secret))
        }
        return out.sorted { ($0.rule.agentID, $0.rule.name, $0.rule.id) < ($1.rule.agentID, $1.rule.name, $1.rule.id) }
    }

    /// Deletes a rule (its alerts stay in the history; its queued deliveries are dropped when due).
    /// false if there was none.
    public func delete(_ id: String) async throws -> Bool {
        guard AlertRule.isValidID(id),
              let agent = try await client.send(RedisCommand("HGET", key: AgentKeys.alertRules, id)).string
        else { return false }
        // The index first: no evaluator picks the rule up after this.
        _ = try await client.send(RedisCommand("HDEL", key: AgentKeys.alertRules, id))
        _ = try await client.send(RedisCommand("DEL", key: AgentKeys(agent).alertRule(id)))
        return true
    }

    /// The newest alerts of `agents`, newest first, at most `limit`; `state` filters (firing / resolved).
    public func alerts(agents: [String], state: String?, limit: Int) async throws -> [AlertRecord] {
        var out: [(Int64, AlertRecord)] = []
        for agent in agents {
            let keys = AgentKeys(agent)
            // Firing alerts are the newest of their rule, so a filter on them reads the newest entries
            // of the history; the history holds at most historyCap entries per agent.
            let flat = try await client.send(RedisCommand("ZREVRANGE", key: keys.alertHistory, "0", String(max(limit, 1) * 4 - 1), "WITHSCORES")).array ?? []
            var ids: [(String, Int64)] = []
            var i = 0
            while i + 1 < flat.count {
                if let id = flat[i].string, let s = flat[i + 1].string.flatMap({ Double($0) }) { ids.append((id, Int64(s))) }
                i += 2
            }
            if ids.isEmpty { continue }
            var read = RedisCommand("HMGET", key: keys.alertRecords)
            for (id, _) in ids { read.append(id); read.append(id + ":r") }
            let values = try await client.send(read).array ?? []
            for (n, (_, fired)) in ids.enumerated() where 2 * n + 1 < values.count {
                guard let json = values[2 * n].bytes, var record = try? JSONDecoder().decode(AlertRecord.self, from: Data(json)) else { continue }
                if let resolved = values[2 * n + 1].string.flatMap({ Int64($0) }) {
                    record.state = "resolved"
                    record.resolvedAt = ISO8601.format(ms: resolved)
                }
                if let state, record.state != state { continue }
                out.append((fired, record))
            }
        }
        return out.sorted { ($0.0, $0.1.ruleID) > ($1.0, $1.1.ruleID) }.prefix(limit).map(\.1)
    }

    /// The newest delivery attempts of `agent`, newest first (raw JSON records), optionally of one rule.
    public func deliveries(agent: String, ruleID: String?, limit: Int) async throws -> [DeliveryAttempt] {
        let list = try await client.send(RedisCommand("LRANGE", key: AgentKeys(agent).deliveryLog, "0", "-1")).array ?? []
        var out: [DeliveryAttempt] = []
        for v in list {
            guard let b = v.bytes, let a = try? JSONDecoder().decode(DeliveryAttempt.self, from: Data(b)) else { continue }
            if let ruleID, a.ruleID != ruleID { continue }
            out.append(a)
            if out.count >= limit { break }
        }
        return out
    }
}

public enum AlertStoreError: Error, Sendable {
    case tooManyRules(String, Int)
    case redis(any Error)
}

/// One attempt to deliver a notification (`GET /api/v1/alerts/deliveries`).
public struct DeliveryAttempt: Sendable, Codable, Equatable {
    public var deliveryID: String
    public var ruleID: String
    public var url: String?
    public var attempt: Int
    public var at: String
    /// The receiver's HTTP status, nil if none was received.
    public var statusCode: Int?
    public var error: String?
    public var durationMs: Int
    /// `delivered`, `retry` (tried again at `next_attempt_at`), `failed` (given up) or `dropped` (rule deleted, no URL).
    public var outcome: String
    public var nextAttemptAt: String?

    enum CodingKeys: String, CodingKey {
        case url, attempt, at, error, outcome
        case deliveryID = "delivery_id"
        case ruleID = "rule_id"
        case statusCode = "status_code"
        case durationMs = "duration_ms"
        case nextAttemptAt = "next_attempt_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(deliveryID, forKey: .deliveryID)
        try c.encode(ruleID, forKey: .ruleID)
        try c.encode(url, forKey: .url)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(at, forKey: .at)
        try c.encode(statusCode, forKey: .statusCode)
        try c.encode(error, forKey: .error)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
    }
}
