import Foundation

/// Bucket hash fields summed over several buckets, field by field (exact: all fields are integers).
public struct BucketSums: Sendable, Equatable {
    public var fields: [String: Int]

    public init(fields: [String: Int] = [:]) { self.fields = fields }

    /// The field's sum, 0 if absent.
    public subscript(_ name: String) -> Int { fields[name] ?? 0 }

    /// Adds one HGETALL result (non-integer values are ignored).
    public mutating func add(_ hash: [String: String]) {
        for (k, v) in hash {
            if let n = Int(v) { fields[k, default: 0] += n }
        }
    }

    /// Adds one bucket's counters.
    public mutating func add(_ counters: [String: Int]) {
        for (k, v) in counters { fields[k, default: 0] += v }
    }

    public mutating func add(_ other: BucketSums) {
        for (k, v) in other.fields { fields[k, default: 0] += v }
    }

    /// Fields `<prefix><name>` as `[name: sum]`, zero sums left out.
    public func prefixed(_ prefix: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for (k, v) in fields where k.hasPrefix(prefix) && v != 0 {
            let name = String(k.dropFirst(prefix.count))
            if !name.isEmpty { out[name] = v }
        }
        return out
    }

    // Named fields (docs/keys.md).
    public var events: Int { self["events"] }
    public var messages: Int { self["messages"] }
    public var conversations: Int { self["conversations"] }
    public var convMsg: Int { self["conv_msg"] }
    public var sessMsgs: Int { self["sess_msgs"] }
    public var rtSum: Int { self["rt_sum"] }
    public var rtCount: Int { self["rt_count"] }
    public var inputTokens: Int { self["tok_in"] }
    public var outputTokens: Int { self["tok_out"] }
    public var intents: Int { self["intents"] }
    public var confSumU: Int { self["conf_sum_u"] }
    public var confCount: Int { self["conf_count"] }
    public var lowConf: Int { self["low_conf"] }
    public var escalations: Int { self["escalations"] }
    public var workflowsStarted: Int { self["ev:workflow_started"] }
    public var workflowsCompleted: Int { self["ev:workflow_completed"] }
    public var intentClassified: Int { self["ev:intent_classified"] }
    public var outSessions: Int { self["out:sessions"] }
    public var outEnded: Int { self["out:ended"] }
    public var outDropped: Int { self["out:dropped"] }
    public var outEscalated: Int { self["out:escalated"] }
    public var outAutomated: Int { self["out:automated"] }
    public var outTurns: Int { self["out:turns"] }

    /// The `rt:<bin>` histogram as `[bin: count]`.
    public var responseTimeHistogram: [Int: Int] {
        var out: [Int: Int] = [:]
        for (k, v) in fields where k.hasPrefix("rt:") && v != 0 {
            if let bin = Int(k.dropFirst(3)) { out[bin] = v }
        }
        return out
    }

    /// Percentile `p` (0–100) of the response-time histogram, nearest rank: the geometric
    /// midpoint `2^((i + 0.5) / 4)` ms of the bin holding the rank-⌈p·N/100⌉ sample
    /// (bin −1, response times in (0, 1) ms, reports 0.5). 0 if there are no samples.
    public func responseTimePercentile(_ p: Double) -> Double { Self.percentile(responseTimeHistogram, p) }

    /// Percentile `p` of a histogram of the same log bins (``EventCounters/responseTimeBin(_:)``).
    public static func percentile(_ histogram: [Int: Int], _ p: Double) -> Double {
        let hist = histogram.sorted { $0.key < $1.key }
        let n = hist.reduce(0) { $0 + $1.value }
        guard n > 0 else { return 0 }
        let rank = max(1, Int((p / 100 * Double(n)).rounded(.up)))
        var cumulative = 0
        for (bin, count) in hist {
            cumulative += count
            if cumulative >= rank { return BucketSums.binMidpoint(bin) }
        }
        return BucketSums.binMidpoint(hist.last!.key)
    }

    public static func binMidpoint(_ bin: Int) -> Double {
        bin < 0 ? 0.5 : pow(2.0, (Double(bin) + 0.5) / 4)
    }
}

