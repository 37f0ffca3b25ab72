import InsightsModel
import RedisClient

/// One path of `GET /api/v1/analytics/users/paths`.
public struct IntentPath: Sendable, Codable, Equatable {
    public var intents: [String]
    public var sessions: Int
    public var ended: Int
    public var dropped: Int
    public var escalated: Int
}

/// `GET /api/v1/analytics/users/paths` (docs/metrics.md, *Intent paths*).
public struct IntentPaths: Sendable, Codable, Equatable, WindowedResult {
    public var depth: Int
    public var paths: [IntentPath]
    /// Distinct paths of that depth in the window (`paths` holds the `limit` most frequent).
    public var distinctPaths: Int
    /// Finalized sessions with at least one classified intent.
    public var sessions: Int
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case depth, paths, sessions, resolution
        case distinctPaths = "distinct_paths"
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// One step of `GET /api/v1/analytics/users/funnel`.
public struct FunnelStep: Sendable, Codable, Equatable {
    public var intent: String
    public var sessions: Int
    /// 100 × sessions at this step / sessions at the first.
    public var conversionRate: Double

    enum CodingKeys: String, CodingKey {
        case intent, sessions
        case conversionRate = "conversion_rate"
    }
}

/// `GET /api/v1/analytics/users/funnel` (docs/metrics.md, *Funnels*).
public struct Funnel: Sendable, Codable, Equatable, WindowedResult {
    public var steps: [FunnelStep]
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case steps, resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

extension MetricsQuery {
    /// The longest stored intent path (`PATH_MAX` in lua/worker_lib.lua): paths deeper than
    /// ``maxPathDepth`` are never asked for, and funnels see a session's first 8 intents.
    public static let storedPathLength = 8
    public static let maxPathDepth = 5
    public static let maxFunnelSteps = 6

    /// The stored paths of a window: (intents, sessions, ended, escalated).
    func storedPaths(agent: String, start: Int64, end: Int64, now: Int64) async throws -> (BucketPlan, [([String], Int, Int, Int)]) {
        guard end >= start else { throw QueryError.invalidWindow("end before start") }
        let plan = BucketPlan.plan(startMs: start, endMs: end, nowMs: now, retention: retention, finest: .hour)
        // Path buckets are hashes (lua/common.lua, paths_write): one pipeline of HGETALL.
        let keys = AgentKeys(agent)
        let names = plan.buckets.map { $0.key(keys, family: .paths) }
        var sums = StoredPathCounts()
        if !names.isEmpty {
            for reply in try await client.pipeline(names.map { RedisCommand("HGETALL", key: $0) }) {
                guard let flat = try reply.get().array, flat.count % 2 == 0 else { throw QueryError.badReply("\(reply)") }
                for i in stride(from: 0, to: flat.count, by: 2) {
                    guard let field = flat[i].bytes, let value = flat[i + 1].bytes, sums.add(field: field, value: value) else {
                        throw QueryError.badReply("intent path field \(flat[i]) is not a path count")
                    }
                }
            }
        }
        let paths = sums.counts.map { key, c in
            (key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init), c.sessions, c.ended, c.escalated)
        }
        return (plan, paths)
    }

    public func paths(agent: String, start: Int64, end: Int64, depth: Int, limit: Int,
                      now: Int64 = EventClock.nowMs()) async throws -> IntentPaths {
        let (plan, stored) = try await storedPaths(agent: agent, start: start, end: end, now: now)
        return Self.paths(stored, depth: depth, limit: limit, plan)
    }

    static func paths(_ stored: [([String], Int, Int, Int)], depth: Int, limit: Int, _ plan: BucketPlan) -> IntentPaths {
        var byPrefix: [[String]: IntentPath] = [:]
        var total = 0
        for (intents, n, e, x) in stored where n > 0 {
            let key = Array(intents.prefix(depth))
            var path = byPrefix[key] ?? IntentPath(intents: key, sessions: 0, ended: 0, dropped: 0, escalated: 0)
            path.sessions += n
            path.ended += e
            path.dropped += n - e
            path.escalated += x
            byPrefix[key] = path
            total += n
        }
        let sorted = byPrefix.values.sorted { a, b in
            a.sessions != b.sessions ? a.sessions > b.sessions : a.intents.lexicographicallyPrecedes(b.intents)
        }
        return IntentPaths(depth: depth, paths: Array(sorted.prefix(limit)), distinctPaths: sorted.count, sessions: total,
                           resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
                           effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    public func funnel(agent: String, start: Int64, end: Int64, steps: [String], now: Int64 = EventClock.nowMs()) async throws -> Funnel {
        let (plan, stored) = try await storedPaths(agent: agent, start: start, end: end, now: now)
        return Self.funnel(stored, steps: steps, plan)
    }

    /// Sessions reaching each step: those whose path holds the steps in order (each after the one
    /// before). Matching each step at its earliest place after the previous one finds the longest
    /// prefix of the steps a path holds.
    static func funnel(_ stored: [([String], Int, Int, Int)], steps: [String], _ plan: BucketPlan) -> Funnel {
        var reached = [Int](repeating: 0, count: steps.count)
        for (intents, n, _, _) in stored where n > 0 {
            var k = 0
            for intent in intents where k < steps.count && intent == steps[k] { k += 1 }
            for i in 0..<k { reached[i] += n }
        }
        let first = reached.first ?? 0
        return Funnel(steps: steps.indices.map { FunnelStep(intent: steps[$0], sessions: reached[$0],
                                                            conversionRate: ratio(reached[$0], first, scale: 100)) },
                      resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
                      effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }
}

/// The paths family's fields summed over buckets (docs/keys.md, *Counter families*): `p:<path>` =
/// "<sessions>:<ended>:<escalated>", and the form written before issue 13's packing, `s:<path>`,
/// `e:<path>`, `x:<path>` each an integer (a bucket can hold both; they add up).
struct StoredPathCounts {
    struct Counts { var sessions = 0, ended = 0, escalated = 0 }
    var counts: [String: Counts] = [:]

    /// Adds one field; false if it is neither form.
    mutating func add(field: [UInt8], value: [UInt8]) -> Bool {
        guard field.count >= 2, field[1] == UInt8(ascii: ":") else { return false }
        let path = String(decoding: field[2...], as: UTF8.self)
        let numbers = value.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { Int(String(decoding: $0, as: UTF8.self)) }
        guard numbers.allSatisfy({ $0 != nil }) else { return false }
        var c = counts[path] ?? Counts()
        switch (field[0], numbers.count) {
        case (UInt8(ascii: "p"), 3):
            c.sessions += numbers[0]!
            c.ended += numbers[1]!
            c.escalated += numbers[2]!
        case (UInt8(ascii: "s"), 1): c.sessions += numbers[0]!
        case (UInt8(ascii: "e"), 1): c.ended += numbers[0]!
        case (UInt8(ascii: "x"), 1): c.escalated += numbers[0]!
        default: return false
        }
        counts[path] = c
        return true
    }
}
