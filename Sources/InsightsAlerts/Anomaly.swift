#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Robust anomaly scores (docs/alerts.md, *Anomaly detection*): a value against the median of
/// its baseline, in units of the baseline's median absolute deviation scaled to a standard
/// deviation (1.4826 × MAD), never below a noise floor that depends on what the value measures.
public enum Anomaly {
    /// Fewer baseline values than this: no judgement (a new agent, or a metric rarely measured).
    public static let minimumBaseline = 6

    public struct Score: Sendable, Equatable {
        /// The median of the baseline.
        public var baseline: Double
        /// The deviation unit used: max(1.4826 × MAD, noise floor).
        public var scale: Double
        /// (value − baseline) / scale: positive above the baseline, negative below.
        public var score: Double
    }

    /// The score of `value` against `baseline`, nil with fewer than ``minimumBaseline`` values;
    /// `floor` gives the noise floor for the baseline's median (``noiseFloor(_:median:denominator:)``).
    public static func score(_ value: Double, baseline: [Double], floor: (Double) -> Double) -> Score? {
        guard baseline.count >= minimumBaseline else { return nil }
        let m = median(baseline)
        let mad = median(baseline.map { abs($0 - m) })
        let scale = max(1.4826 * mad, floor(m), 1e-9)
        return Score(baseline: m, scale: scale, score: (value - m) / scale)
    }

    /// The smallest deviation unit for a metric of `kind` whose baseline median is `median`, judged
    /// on `denominator` events in the window: a flat baseline (MAD 0) would otherwise make any
    /// change, one error among none, infinitely anomalous. Counts: Poisson noise √max(median, 1);
    /// percentages: the binomial standard deviation 100·√(p(1−p)/n) with p clamped to [0.05, 0.95],
    /// at least 1 point; durations: 5 % of the median, at least 1 ms; fractions: 0.01.
    public static func noiseFloor(_ kind: AlertMetric.Kind, median: Double, denominator: Int?) -> Double {
        switch kind {
        case .count:
            return max(median, 1).squareRoot()
        case .percent:
            let p = min(max(median / 100, 0.05), 0.95), n = Double(max(denominator ?? 1, 1))
            return max(1, 100 * (p * (1 - p) / n).squareRoot())
        case .milliseconds:
            return max(1, 0.05 * abs(median))
        case .fraction:
            return 0.01
        }
    }

    /// The median (the mean of the two middle values for an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }
}
