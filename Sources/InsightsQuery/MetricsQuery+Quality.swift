import InsightsModel

/// `GET /api/v1/analytics/quality/metrics` (docs/metrics.md, *Quality*).
public struct QualityMetrics: Sendable, Codable, Equatable, WindowedResult {
    /// user_feedback events.
    public var feedbackCount: Int
    /// Mean of the integer ratings 1–5 (0 without ratings).
    public var avgRating: Double
    /// 100 × ratings ≥ 4 / ratings.
    public var csat: Double
    /// 100 × thumbs up / (up + down).
    public var thumbsUpRate: Double
    /// Events with a sentiment, by class (positive, neutral, negative, mixed, other).
    public var sentiment: [String: Int]
    /// 100 × negative / events with a sentiment.
    public var negativeRate: Double
    public var ratings: Int
    public var thumbsUp: Int
    public var thumbsDown: Int
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case csat, sentiment, ratings, resolution
        case feedbackCount = "feedback_count"
        case avgRating = "avg_rating"
        case thumbsUpRate = "thumbs_up_rate"
        case negativeRate = "negative_rate"
        case thumbsUp = "thumbs_up"
        case thumbsDown = "thumbs_down"
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// One workflow of `GET /api/v1/analytics/workflows/metrics`.
public struct WorkflowStats: Sendable, Codable, Equatable {
    public var started: Int
    public var completed: Int
    public var failed: Int
    /// 100 × completed / started (0 if none started).
    public var completionRate: Double
    /// Mean `duration_ms` of completed runs that carry one (0 if none).
    public var avgDurationMs: Double

    enum CodingKeys: String, CodingKey {
        case started, completed, failed
        case completionRate = "completion_rate"
        case avgDurationMs = "avg_duration_ms"
    }
}

/// `GET /api/v1/analytics/workflows/metrics` (docs/metrics.md, *Workflows*).
public struct WorkflowMetrics: Sendable, Codable, Equatable, WindowedResult {
    public var workflows: [String: WorkflowStats]
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case workflows, resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

extension MetricsQuery {
    public func quality(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs()) async throws -> QualityMetrics {
        let (plan, s) = try await qualitySums(agent: agent, start: start, end: end, now: now)
        return Self.quality(s, plan)
    }

    /// The buckets' own counters and their family `q` summed: the feedback, sentiment and workflow
    /// counters are in the family since stop 25, in the bucket's own map before (docs/keys.md), each
    /// event's in one of the two.
    func qualitySums(agent: String, start: Int64, end: Int64, now: Int64) async throws -> (BucketPlan, BucketSums) {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, families: [nil, .quality])
        var both = s[0]
        both.add(s[1])
        return (plan, both)
    }

    static func quality(_ s: BucketSums, _ plan: BucketPlan) -> QualityMetrics {
        let sentiment = s.prefixed("sent:")
        let withSentiment = sentiment.values.reduce(0, +)
        let up = s["fb:up"], down = s["fb:down"], n = s["fb:rating_n"]
        return QualityMetrics(
            feedbackCount: s["fb:n"], avgRating: ratio(s["fb:rating_sum"], n), csat: ratio(s["fb:csat"], n, scale: 100),
            thumbsUpRate: ratio(up, up + down, scale: 100), sentiment: sentiment,
            negativeRate: ratio(sentiment["negative"] ?? 0, withSentiment, scale: 100), ratings: n, thumbsUp: up, thumbsDown: down,
            resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
            effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    public func workflows(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs()) async throws -> WorkflowMetrics {
        let (plan, s) = try await qualitySums(agent: agent, start: start, end: end, now: now)
        return Self.workflows(s, plan)
    }

    static func workflows(_ s: BucketSums, _ plan: BucketPlan) -> WorkflowMetrics {
        let started = s.prefixed("wf:started:"), completed = s.prefixed("wf:completed:"), failed = s.prefixed("wf:failed:")
        let durSum = s.prefixed("wfd:sum:"), durN = s.prefixed("wfd:n:")
        var out: [String: WorkflowStats] = [:]
        for name in Set(started.keys).union(completed.keys).union(failed.keys) {
            let st = started[name] ?? 0, c = completed[name] ?? 0
            out[name] = WorkflowStats(started: st, completed: c, failed: failed[name] ?? 0, completionRate: ratio(c, st, scale: 100),
                                      avgDurationMs: ratio(durSum[name] ?? 0, durN[name] ?? 0))
        }
        return WorkflowMetrics(workflows: out, resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
                               effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }
}
