import InsightsModel
import RedisClient

/// A filter of `conversations/metrics`, `nlu/metrics` and `dashboard/overview`: one dimension's value.
public struct BreakdownFilter: Sendable, Hashable {
    public var dimension: Dimension
    public var value: String

    public init(_ dimension: Dimension, _ value: String) {
        self.dimension = dimension
        self.value = value
    }

    /// The value of events without one: the bucket's own counters less every value's (and a value
    /// sent as `unknown`, which is stored as a slice, is part of it).
    public static let unknown = "unknown"
}

/// One value of `GET /api/v1/analytics/breakdown`.
public struct BreakdownValue: Sendable, Codable, Equatable {
    public var totalConversations: Int
    public var totalMessages: Int
    public var avgResponseTimeMs: Double
    public var fallbackRate: Double
    public var automationRate: Double

    enum CodingKeys: String, CodingKey {
        case totalConversations = "total_conversations"
        case totalMessages = "total_messages"
        case avgResponseTimeMs = "avg_response_time_ms"
        case fallbackRate = "fallback_rate"
        case automationRate = "automation_rate"
    }
}

/// `GET /api/v1/analytics/breakdown` (docs/metrics.md, *Breakdowns and filters*).
public struct Breakdown: Sendable, Codable, Equatable, WindowedResult {
    public var dimension: String
    public var values: [String: BreakdownValue]
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case dimension, values, resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

extension MetricsQuery {
    /// The counters of each bucket as a filter sees them: the bucket's own (no filter), a value's
    /// slice, or for `unknown` the bucket's own less the slices of every value the agent has (its
    /// registry and `other`): one MGET in every case.
    func read(agent: String, buckets: [Bucket], filter: BreakdownFilter?) async throws -> [[String: Int]] {
        guard let filter else { return try await read(agent: agent, buckets: buckets) }
        let keys = AgentKeys(agent)
        guard filter.value == BreakdownFilter.unknown else {
            return try await read(keys: buckets.map { $0.key(keys, .slice(filter.dimension, filter.value)) })
        }
        let members = try await client.send(RedisCommand("SMEMBERS", key: keys.names(filter.dimension.kind))).get()
        // A value literally named `unknown` counts as unknown: it is not taken off.
        let values = Set((members.array ?? []).compactMap(\.string)).union(["other"]).subtracting([BreakdownFilter.unknown]).sorted()
        var names = buckets.map { $0.key(keys) }
        for v in values { names += buckets.map { $0.key(keys, .slice(filter.dimension, v)) } }
        let maps = try await read(keys: names)
        var out = Array(maps.prefix(buckets.count))
        for (i, m) in maps.enumerated().dropFirst(buckets.count) {
            for (k, v) in m { out[i % buckets.count][k, default: 0] -= v }
        }
        return out
    }

    public func breakdown(agent: String, dimension: Dimension, start: Int64, end: Int64,
                          now: Int64 = EventClock.nowMs()) async throws -> Breakdown {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, families: [nil, .breakdown], finest: .hour)
        return Self.breakdown(main: s[0], summary: s[1], dimension: dimension, plan)
    }

    /// The summary's fields `<dim>\u{1F}<field code>\u{1F}<value>` of one dimension, by value; `unknown`
    /// is what the bucket's own counters have beyond the values (shown when it holds anything).
    static func breakdown(main: BucketSums, summary: BucketSums, dimension: Dimension, _ plan: BucketPlan) -> Breakdown {
        let fields = ["conversations", "messages", "rt_sum", "rt_count", "intents", "intent:fallback", "out:sessions", "out:automated"]
        var byValue: [String: [String: Int]] = [:]
        for (k, n) in summary.fields where n != 0 {
            let parts = k.split(separator: "\u{1F}", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == dimension.rawValue, !parts[2].isEmpty else { continue }
            byValue[String(parts[2]), default: [:]][CounterCode.name(String(parts[1])), default: 0] += n
        }
        // A value literally named `unknown` is a part of the unknown row: it is left out of the sum.
        byValue[BreakdownFilter.unknown] = nil
        var unknown: [String: Int] = [:]
        for f in fields { unknown[f] = main[f] - byValue.values.reduce(0) { $0 + ($1[f] ?? 0) } }
        if unknown.values.contains(where: { $0 != 0 }) { byValue[BreakdownFilter.unknown] = unknown }
        let values = byValue.mapValues { c in
            BreakdownValue(totalConversations: c["conversations"] ?? 0, totalMessages: c["messages"] ?? 0,
                           avgResponseTimeMs: ratio(c["rt_sum"] ?? 0, c["rt_count"] ?? 0),
                           fallbackRate: ratio(c["intent:fallback"] ?? 0, c["intents"] ?? 0, scale: 100),
                           automationRate: ratio(c["out:automated"] ?? 0, c["out:sessions"] ?? 0, scale: 100))
        }
        return Breakdown(dimension: dimension.name, values: values, resolution: plan.resolution,
                         effectiveStart: ISO8601.format(ms: plan.effectiveStartMs), effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }
}
