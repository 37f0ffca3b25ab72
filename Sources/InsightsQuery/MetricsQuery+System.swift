import InsightsModel

/// One endpoint of `GET /api/v1/analytics/system/metrics`.
public struct EndpointStats: Sendable, Codable, Equatable {
    public var calls: Int
    public var failures: Int
    /// 100 × failures / calls.
    public var failureRate: Double
    /// Nearest-rank p95 of the calls' `duration_ms` (bin midpoint, as `p95_response_time_ms`).
    public var p95Ms: Double

    enum CodingKeys: String, CodingKey {
        case calls, failures
        case failureRate = "failure_rate"
        case p95Ms = "p95_ms"
    }
}

/// `GET /api/v1/analytics/system/metrics` (docs/metrics.md, *System events*).
public struct SystemMetrics: Sendable, Codable, Equatable, WindowedResult {
    public var apiCalls: Int
    public var apiFailures: Int
    public var apiFailureRate: Double
    public var apiP50Ms: Double
    public var apiP95Ms: Double
    public var endpoints: [String: EndpointStats]
    public var errors: Int
    public var errorCodes: [String: Int]
    /// Finalized conversations (by their first event) with at least one error event.
    public var conversationsWithErrors: Int
    /// Finalized conversations (by their first event).
    public var finalizedConversations: Int
    public var conversationsWithErrorsRate: Double
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case endpoints, errors, resolution
        case apiCalls = "api_calls"
        case apiFailures = "api_failures"
        case apiFailureRate = "api_failure_rate"
        case apiP50Ms = "api_p50_ms"
        case apiP95Ms = "api_p95_ms"
        case errorCodes = "error_codes"
        case conversationsWithErrors = "conversations_with_errors"
        case finalizedConversations = "finalized_conversations"
        case conversationsWithErrorsRate = "conversations_with_errors_rate"
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// One intent of `GET /api/v1/analytics/nlu/intents`.
public struct IntentStats: Sendable, Codable, Equatable {
    /// Classifications of the intent.
    public var count: Int
    /// Mean confidence of its classifications with a confidence above 0 (as `avg_confidence`).
    public var avgConfidence: Double
    /// 100 × its classifications with a confidence below the threshold / `count`.
    public var lowConfidenceRate: Double

    enum CodingKeys: String, CodingKey {
        case count
        case avgConfidence = "avg_confidence"
        case lowConfidenceRate = "low_confidence_rate"
    }
}

/// `GET /api/v1/analytics/nlu/intents` (docs/metrics.md, *Intents in depth*).
public struct IntentMetrics: Sendable, Codable, Equatable, WindowedResult {
    public var threshold: Double
    public var intents: [String: IntentStats]
    public var entities: [String: Int]
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case threshold, intents, entities, resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

extension MetricsQuery {
    public func system(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs()) async throws -> SystemMetrics {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, families: [nil, .system])
        return Self.system(main: s[0], x: s[1], plan)
    }

    /// Splits fields `<head>:<name>` whose head starts with `letter` and is followed by an integer
    /// (`h-1:GET /a`) into [name: [int: count]].
    static func binned(_ x: BucketSums, _ letter: Character) -> [String: [Int: Int]] {
        var out: [String: [Int: Int]] = [:]
        for (k, v) in x.fields where v != 0 && k.first == letter {
            guard let colon = k.firstIndex(of: ":"), let bin = Int(k[k.index(after: k.startIndex)..<colon]) else { continue }
            out[String(k[k.index(after: colon)...]), default: [:]][bin, default: 0] += v
        }
        return out
    }

    static func system(main: BucketSums, x: BucketSums, _ plan: BucketPlan) -> SystemMetrics {
        var latency: [Int: Int] = [:]
        for (k, v) in x.fields where v != 0 && k.first == "l" {
            if let bin = Int(k.dropFirst()) { latency[bin] = v }
        }
        let calls = x.prefixed("c:"), fails = x.prefixed("f:"), hist = binned(x, "h")
        var endpoints: [String: EndpointStats] = [:]
        for (name, n) in calls {
            let f = fails[name] ?? 0
            endpoints[name] = EndpointStats(calls: n, failures: f, failureRate: ratio(f, n, scale: 100),
                                            p95Ms: BucketSums.percentile(hist[name] ?? [:], 95))
        }
        return SystemMetrics(
            apiCalls: x["calls"], apiFailures: x["fail"], apiFailureRate: ratio(x["fail"], x["calls"], scale: 100),
            apiP50Ms: BucketSums.percentile(latency, 50), apiP95Ms: BucketSums.percentile(latency, 95), endpoints: endpoints,
            errors: x["errors"], errorCodes: x.prefixed("e:"), conversationsWithErrors: x["conv_err"],
            finalizedConversations: main.outSessions, conversationsWithErrorsRate: ratio(x["conv_err"], main.outSessions, scale: 100),
            resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
            effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    /// `threshold` must be `m / 20` for an m in 1...20 (``EventCounters/confidenceBins``): the
    /// caller checks it; `m` is what the query uses.
    public func intents(agent: String, start: Int64, end: Int64, thresholdBins m: Int,
                        now: Int64 = EventClock.nowMs()) async throws -> IntentMetrics {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, families: [nil, .intents])
        return Self.intents(main: s[0], n: s[1], thresholdBins: m, plan)
    }

    static func intents(main: BucketSums, n: BucketSums, thresholdBins m: Int, _ plan: BucketPlan) -> IntentMetrics {
        let counts = main.prefixed("intent:"), sums = n.prefixed("s:"), withConf = n.prefixed("k:"), bins = binned(n, "b")
        var out: [String: IntentStats] = [:]
        for (intent, count) in counts {
            let low = (bins[intent] ?? [:]).reduce(0) { $0 + ($1.key < m ? $1.value : 0) }
            let k = withConf[intent] ?? 0
            out[intent] = IntentStats(count: count, avgConfidence: k == 0 ? 0 : Double(sums[intent] ?? 0) / 1e6 / Double(k),
                                      lowConfidenceRate: ratio(low, count, scale: 100))
        }
        return IntentMetrics(threshold: Double(m) / Double(EventCounters.confidenceBins), intents: out, entities: n.prefixed("e:"),
                             resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
                             effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }
}
