#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import InsightsModel
import RedisClient

/// The query layer: every answer comes from bucket counters and outcome counters
/// (docs/metrics.md), never from scanning events. Reading a window's buckets is one MGET.
public struct MetricsQuery: Sendable {
    public let client: RedisClient
    public var retention: Retention
    /// Most points a timeseries may have.
    public var maxTimeseriesPoints: Int

    public init(client: RedisClient, retention: Retention = .default, maxTimeseriesPoints: Int = 2000) {
        self.client = client
        self.retention = retention
        self.maxTimeseriesPoints = maxTimeseriesPoints
    }

    // MARK: Reading buckets

    /// The plan of a window and its buckets summed.
    public func sums(agent: String, startMs: Int64, endMs: Int64, nowMs: Int64,
                     filter: BreakdownFilter? = nil) async throws -> (BucketPlan, BucketSums) {
        guard endMs >= startMs else { throw QueryError.invalidWindow("end before start") }
        // Slices have hour buckets at the finest (docs/keys.md, *Breakdown slices*).
        let plan = BucketPlan.plan(startMs: startMs, endMs: endMs, nowMs: nowMs, retention: retention, finest: filter == nil ? .minute : .hour)
        let hashes = try await read(agent: agent, buckets: plan.buckets, filter: filter)
        var sums = BucketSums()
        for h in hashes { sums.add(h) }
        return (plan, sums)
    }

    /// The plan of a window and, for each family (nil: the buckets' own counters), its buckets
    /// summed: one MGET for all of them.
    public func sums(agent: String, startMs: Int64, endMs: Int64, nowMs: Int64,
                     families: [CounterFamily?], finest: Resolution = .minute) async throws -> (BucketPlan, [BucketSums]) {
        guard endMs >= startMs else { throw QueryError.invalidWindow("end before start") }
        let plan = BucketPlan.plan(startMs: startMs, endMs: endMs, nowMs: nowMs, retention: retention, finest: finest)
        let keys = AgentKeys(agent)
        let hashes = try await read(keys: families.flatMap { f in plan.buckets.map { $0.key(keys, family: f) } })
        var out = [BucketSums](repeating: BucketSums(), count: families.count)
        for (i, h) in hashes.enumerated() { out[i / max(1, plan.buckets.count)].add(h) }
        return (plan, out)
    }

    /// The counters of each bucket, in order: one MGET (a bucket nobody wrote, or that expired, is empty).
    public func counters(agent: String, buckets: [Bucket]) async throws -> [[String: Int]] {
        try await read(agent: agent, buckets: buckets)
    }

    func read(agent: String, buckets: [Bucket]) async throws -> [[String: Int]] {
        let keys = AgentKeys(agent)
        return try await read(keys: buckets.map { $0.key(keys) })
    }

    func read(keys names: [String]) async throws -> [[String: Int]] {
        if names.isEmpty { return [] }
        let reply = try await client.send(RedisCommand("MGET", keys: names)).get()
        guard let values = reply.array, values.count == names.count else { throw QueryError.badReply("\(reply)") }
        // A loop, not `try values.map { … throw … }`: that closure crashes the Swift 6.3.1 optimizer
        // (signal 11 in LLVM CoroSplit) in release builds (`make bench`).
        var out: [[String: Int]] = []
        out.reserveCapacity(values.count)
        for value in values {
            guard let blob = value.bytes else {
                out.append([:])
                continue
            }
            out.append(try Self.counters(blob))
        }
        return out
    }

    /// A bucket's counters from its MessagePack map (docs/keys.md), by field name (``CounterCode``:
    /// a map holding a field both by its name, written before the codes, and by its code sums them).
    static func counters(_ blob: [UInt8]) throws -> [String: Int] {
        let value: MessagePack.Value
        do { value = try MessagePack.decode(blob) } catch { throw QueryError.badReply("counters: \(error)") }
        if case .array(let a) = value, a.isEmpty { return [:] }  // cmsgpack writes an empty table as an array
        guard let map = value.mapValue else { throw QueryError.badReply("counters are not a map") }
        var out: [String: Int] = [:]
        out.reserveCapacity(map.count)
        for (k, v) in map {
            guard let n = v.intValue else { throw QueryError.badReply("counter is not an integer") }
            out[CounterCode.name(k), default: 0] += Int(n)
        }
        return out
    }

    // MARK: Metrics from sums (pure)

    static func ratio(_ a: Int, _ b: Int, scale: Double = 1) -> Double { b == 0 ? 0 : scale * Double(a) / Double(b) }

    static func conversation(_ s: BucketSums, _ plan: BucketPlan) -> ConversationMetrics {
        ConversationMetrics(
            totalConversations: s.conversations,
            avgConversationLength: ratio(s.sessMsgs, s.convMsg),
            completionRate: ratio(s.workflowsCompleted, s.workflowsStarted, scale: 100),
            avgResponseTimeMs: ratio(s.rtSum, s.rtCount),
            totalMessages: s.messages,
            totalEvents: s.events,
            p50ResponseTimeMs: s.responseTimePercentile(50),
            p95ResponseTimeMs: s.responseTimePercentile(95),
            p99ResponseTimeMs: s.responseTimePercentile(99),
            totalInputTokens: s.inputTokens,
            totalOutputTokens: s.outputTokens,
            resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
            effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    static func nlu(_ s: BucketSums, _ plan: BucketPlan) -> NLUMetrics {
        NLUMetrics(
            intentDistribution: s.prefixed("intent:"),
            avgConfidence: s.confCount == 0 ? 0 : Double(s.confSumU) / 1e6 / Double(s.confCount),
            lowConfidenceRate: ratio(s.lowConf, s.intentClassified, scale: 100),
            fallbackRate: ratio(s["intent:fallback"], s.intents, scale: 100),
            totalClassifications: s.intentClassified,
            resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
            effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    static func automation(_ s: BucketSums) -> Double { ratio(s.outAutomated, s.outSessions, scale: 100) }

    // MARK: Public queries

    public func conversationMetrics(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs(),
                                    filter: BreakdownFilter? = nil) async throws -> ConversationMetrics {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, filter: filter)
        return Self.conversation(s, plan)
    }

    public func nluMetrics(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs(),
                           filter: BreakdownFilter? = nil) async throws -> NLUMetrics {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now, filter: filter)
        return Self.nlu(s, plan)
    }

    public func dropOff(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs()) async throws -> DropOffAnalysis {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now)
        return DropOffAnalysis(
            dropOffPoints: s.prefixed("drop:"), totalIncompleteSessions: s.outDropped,
            resolution: plan.resolution, effectiveStart: ISO8601.format(ms: plan.effectiveStartMs),
            effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    public func automationRate(agent: String, start: Int64, end: Int64, now: Int64 = EventClock.nowMs()) async throws -> AutomationRate {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now)
        return AutomationRate(
            automationRate: Self.automation(s), resolution: plan.resolution,
            effectiveStart: ISO8601.format(ms: plan.effectiveStartMs), effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    public func costSavings(agent: String, start: Int64, end: Int64, costPerInteraction: Double = 5.0,
                            now: Int64 = EventClock.nowMs()) async throws -> CostSavings {
        let (plan, s) = try await sums(agent: agent, startMs: start, endMs: end, nowMs: now)
        return Self.cost(s, plan, costPerInteraction)
    }

    static func cost(_ s: BucketSums, _ plan: BucketPlan, _ costPerInteraction: Double) -> CostSavings {
        CostSavings(
            totalConversations: s.outSessions, automatedConversations: s.outAutomated,
            automationRate: Self.automation(s), costSavings: Double(s.outAutomated) * costPerInteraction,
            costPerInteraction: costPerInteraction, resolution: plan.resolution,
            effectiveStart: ISO8601.format(ms: plan.effectiveStartMs), effectiveEnd: ISO8601.format(ms: plan.effectiveEndMs))
    }

    /// The length of a dashboard timeframe in ms, nil if unknown.
    public static func timeframeMs(_ timeframe: String) -> Int64? {
        switch timeframe {
        case "24h": 86_400_000
        case "7d": 7 * 86_400_000
        case "30d": 30 * 86_400_000
        case "90d": 90 * 86_400_000
        default: nil
        }
    }

    /// The headline metrics compared in `changes`.
    public static let headlineMetrics = [
        "total_conversations", "total_messages", "total_events", "avg_conversation_length", "completion_rate",
        "avg_response_time_ms", "avg_confidence", "low_confidence_rate", "fallback_rate", "total_classifications",
        "automation_rate", "p95_response_time_ms", "cost_savings",
    ]

    static func headline(_ c: ConversationMetrics, _ n: NLUMetrics, _ a: Double, _ cs: CostSavings) -> [String: Double] {
        [
            "total_conversations": Double(c.totalConversations), "total_messages": Double(c.totalMessages),
            "total_events": Double(c.totalEvents), "avg_conversation_length": c.avgConversationLength,
            "completion_rate": c.completionRate, "avg_response_time_ms": c.avgResponseTimeMs,
            "avg_confidence": n.avgConfidence, "low_confidence_rate": n.lowConfidenceRate,
            "fallback_rate": n.fallbackRate, "total_classifications": Double(n.totalClassifications),
            "automation_rate": a, "p95_response_time_ms": c.p95ResponseTimeMs, "cost_savings": cs.costSavings,
        ]
    }

    /// The current period [now − length, now) and the previous one, which ends where the current
    /// one effectively starts (no bucket is read twice).
    public static func overviewPlans(length: Int64, now: Int64, retention: Retention = .default,
                                     finest: Resolution = .minute) -> (current: BucketPlan, previous: BucketPlan) {
        let cur = BucketPlan.plan(startMs: now - length, endMs: now, nowMs: now, retention: retention, finest: finest)
        let prev = BucketPlan.plan(startMs: cur.effectiveStartMs - length, endMs: cur.effectiveStartMs, nowMs: now, retention: retention,
                                   finest: finest)
        return (cur, prev)
    }

    /// The dashboard: [now − timeframe, now) and, for `changes`, the period of the same length before it.
    /// Both windows are read in one pipeline. `costPerInteraction` prices `cost_savings` (as `costSavings`).
    public func overview(agent: String, timeframe: String, costPerInteraction: Double = 5.0,
                         now: Int64 = EventClock.nowMs(), filter: BreakdownFilter? = nil) async throws -> DashboardOverview {
        guard let length = Self.timeframeMs(timeframe) else { throw QueryError.unknownTimeframe(timeframe) }
        let (cur, prev) = Self.overviewPlans(length: length, now: now, retention: retention, finest: filter == nil ? .minute : .hour)
        let hashes = try await read(agent: agent, buckets: cur.buckets + prev.buckets, filter: filter)
        var cs = BucketSums(), ps = BucketSums()
        for (i, h) in hashes.enumerated() {
            if i < cur.buckets.count { cs.add(h) } else { ps.add(h) }
        }
        let c = Self.conversation(cs, cur), n = Self.nlu(cs, cur), a = Self.automation(cs)
        let money = Self.cost(cs, cur, costPerInteraction)
        let now = Self.headline(c, n, a, money)
        let before = Self.headline(Self.conversation(ps, prev), Self.nlu(ps, prev), Self.automation(ps),
                                   Self.cost(ps, prev, costPerInteraction))
        var changes: [String: Double?] = [:]
        for k in Self.headlineMetrics {
            let p = before[k] ?? 0, v = now[k] ?? 0
            changes[k] = p == 0 ? Double?.none : (v - p) / p * 100
        }
        return DashboardOverview(timeframe: timeframe, conversationMetrics: c, nluMetrics: n, automationRate: a, costSavings: money,
                                 changes: changes)
    }

    /// One point per bucket of `interval` in [start, end) (start rounded down, end up to the
    /// interval), zeros where a bucket is empty or expired.
    public func timeseries(agent: String, start: Int64, end: Int64, interval: Resolution) async throws -> Timeseries {
        guard end >= start else { throw QueryError.invalidWindow("end before start") }
        let len = interval.seconds
        let s = floorTo(floorDiv(start, 1000), len), e = ceilTo(ceilDiv(end, 1000), len)
        let count = Int((e - s) / len)
        guard count <= maxTimeseriesPoints else { throw QueryError.tooManyPoints(count, max: maxTimeseriesPoints) }
        let buckets = (0..<count).map { Bucket(interval, s + Int64($0) * len) }
        let hashes = try await read(agent: agent, buckets: buckets)
        let points = zip(buckets, hashes).map { b, h in
            var x = BucketSums()
            x.add(h)
            return TimeseriesPoint(
                date: ISO8601.format(ms: b.start * 1000), conversations: x.conversations, messages: x.messages,
                events: x.events, avgResponseTimeMs: Self.ratio(x.rtSum, x.rtCount), intents: x.intents,
                fallbacks: x["intent:fallback"], escalations: x.escalations, workflowsStarted: x.workflowsStarted,
                workflowsCompleted: x.workflowsCompleted)
        }
        return Timeseries(interval: interval, points: points)
    }
}
