#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import InsightsModel
import InsightsQuery

/// `GET /api/v1/analytics/anomalies`: the minutes or hours of a window where a headline metric was
/// anomalous, no rule needed (docs/alerts.md, *Anomalies endpoint*). Each point is scored like an
/// anomaly rule (``Anomaly``) against its own baseline: at minute resolution the 60 minutes before
/// it, at hour resolution the 24 hours before it and the same hour on each of the 7 days before.
public struct AnomalyScan: Sendable {
    public let query: MetricsQuery

    public init(query: MetricsQuery) { self.query = query }

    /// The metrics scanned.
    public static let metrics: [AlertMetric] = [
        .totalConversations, .totalMessages, .fallbackRate, .lowConfidenceRate, .avgConfidence, .avgResponseTimeMs,
        .p95ResponseTimeMs, .completionRate, .escalations, .events(.error),
    ]
    /// The longest window at each resolution (points: 360 minutes, 720 hours).
    public static func maxSpanMs(_ r: Resolution) -> Int64 { r == .minute ? 6 * 3_600_000 : 30 * 86_400_000 }

    public struct Point: Sendable, Codable, Equatable {
        public var at: String
        public var metric: String
        public var value: Double
        public var baseline: Double
        public var score: Double
    }

    public struct Result: Sendable, Codable, Equatable {
        public var agentID: String
        public var resolution: Resolution
        public var sensitivity: Double
        public var minCount: Int
        public var start: String
        public var end: String
        public var anomalies: [Point]

        enum CodingKeys: String, CodingKey {
            case resolution, sensitivity, start, end, anomalies
            case agentID = "agent_id"
            case minCount = "min_count"
        }
    }

    /// Offsets (in buckets, before the point) of a point's baseline at `resolution`.
    public static func baselineOffsets(_ resolution: Resolution) -> [Int] {
        switch resolution {
        case .minute: return Array(1...60)
        case .hour: return Array(1...24) + (2...7).map { $0 * 24 }  // 24 h back includes the same hour yesterday
        case .day: return Array(1...28)
        }
    }

    /// Scans the buckets of [start, end) (rounded out to the resolution).
    public func scan(agent: String, start: Int64, end: Int64, resolution: Resolution, sensitivity: Double, minCount: Int) async throws -> Result {
        let len = resolution.seconds
        let s = floorDiv(floorDiv(start, 1000), len) * len, e = ceilDiv(ceilDiv(end, 1000), len) * len
        let points = Int((e - s) / len)
        let back = Self.baselineOffsets(resolution).max() ?? 0
        let buckets = (0..<(points + back)).map { Bucket(resolution, s + Int64($0 - back) * len) }
        let counters = try await query.counters(agent: agent, buckets: buckets)
        return Result(agentID: agent, resolution: resolution, sensitivity: sensitivity, minCount: minCount,
                      start: ISO8601.format(ms: s * 1000), end: ISO8601.format(ms: e * 1000),
                      anomalies: Self.anomalies(counters: counters, from: back, starts: buckets.map(\.start), resolution: resolution,
                                                sensitivity: sensitivity, minCount: minCount))
    }

    /// The anomalous (point, metric) pairs of `counters[from...]`, each scored against its baseline
    /// (pure: the tests give it hand-made counters).
    public static func anomalies(counters: [[String: Int]], from: Int, starts: [Int64], resolution: Resolution,
                                 sensitivity: Double, minCount: Int) -> [Point] {
        let sums = counters.map { c -> BucketSums in
            var s = BucketSums()
            s.add(c)
            return s
        }
        let offsets = baselineOffsets(resolution)
        var out: [Point] = []
        for i in from..<counters.count {
            for metric in metrics {
                let (value, denominator) = metric.measure(sums[i])
                if let d = denominator, d < minCount { continue }
                var history: [Double] = []
                for o in offsets where i - o >= 0 {
                    let (v, d) = metric.measure(sums[i - o])
                    if d.map({ $0 >= minCount }) ?? true { history.append(v) }
                }
                guard let score = Anomaly.score(value, baseline: history, floor: {
                    Anomaly.noiseFloor(metric.kind, median: $0, denominator: denominator)
                }), abs(score.score) > sensitivity else { continue }
                out.append(Point(at: ISO8601.format(ms: starts[i] * 1000), metric: metric.description, value: value,
                                 baseline: score.baseline, score: score.score))
            }
        }
        return out
    }
}
