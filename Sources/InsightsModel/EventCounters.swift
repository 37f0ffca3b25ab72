#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bucket counters an event adds by its own timestamp (docs/keys.md, "Bucket fields"): the one
/// definition of them. Computed at the edge, where the event was validated: the ingest script only
/// adds what it is given (and takes back the share of an event that turns out to be a duplicate).
/// Session counters (`conversations`, `conv_msg`, `sess_msgs`) depend on what Redis already holds
/// of the session and are counted by `lua/ingest.lua`; outcome counters by the workers.
public enum EventCounters {
    /// `low_conf` counts classifications with a confidence below this.
    public static let lowConfidence = 0.7

    /// The event's counters as (field, delta), every delta positive.
    public static func contribution(of e: AnalyticsEvent) -> [(field: String, delta: Int)] {
        var out: [(String, Int)] = [("events", 1), ("ev:" + e.eventType.rawValue, 1)]
        if e.eventType.isMessage { out.append(("messages", 1)) }
        // Mean latency is over bot responses with response_time_ms > 0.
        if e.eventType == .botResponse, let rt = e.responseTimeMs, rt > 0 {
            out.append(("rt_sum", rt))
            out.append(("rt_count", 1))
            out.append(("rt:\(responseTimeBin(rt))", 1))
        }
        if e.eventType == .intentClassified {
            if let intent = e.intent {
                out.append(("intents", 1))
                out.append(("intent:" + intent, 1))
            }
            if let conf = e.confidence {
                // Average confidence ignores 0 (as the seed's `if e.confidence`), but a present 0
                // still counts as low confidence.
                if conf > 0 {
                    let micro = Int((conf * 1e6 + 0.5).rounded(.down))
                    if micro != 0 { out.append(("conf_sum_u", micro)) }
                    out.append(("conf_count", 1))
                }
                if conf < lowConfidence { out.append(("low_conf", 1)) }
            }
        }
        if e.escalatedToHuman { out.append(("escalations", 1)) }
        if let ch = e.channel, !ch.isEmpty { out.append(("ch:" + ch, 1)) }
        // Quality (docs/metrics.md, *Quality*): feedback events' rating and thumbs; any event's sentiment.
        if e.eventType == .userFeedback {
            out.append(("fb:n", 1))
            if let r = e.data["rating"]?.intValue, (1...5).contains(r) {
                out.append(("fb:rating_sum", r))
                out.append(("fb:rating_n", 1))
                if r >= 4 { out.append(("fb:csat", 1)) }
            }
            switch e.data["thumbs"]?.stringValue {
            case "up": out.append(("fb:up", 1))
            case "down": out.append(("fb:down", 1))
            default: break
            }
        }
        if let s = e.sentiment, !s.isEmpty { out.append(("sent:" + sentimentClass(s), 1)) }
        // Workflows by name (docs/metrics.md, *Workflows*).
        if let stage = workflowStage(e.eventType), let name = e.workflowName {
            out.append(("wf:\(stage):" + name, 1))
            if e.eventType == .workflowCompleted, let d = e.durationMs {
                out.append(("wfd:sum:" + name, d))
                out.append(("wfd:n:" + name, 1))
            }
        }
        return out
    }

    /// The sentiment classes counted by name; any other value counts as `other` (the field is free
    /// text, and a bucket must not hold one counter per spelling).
    public static let sentimentClasses: Set<String> = ["positive", "neutral", "negative", "mixed"]

    /// A sentiment value's class: itself lowercased if it is one of ``sentimentClasses``, else `other`.
    public static func sentimentClass(_ s: String) -> String {
        let lower = s.lowercased()
        return sentimentClasses.contains(lower) ? lower : "other"
    }

    /// `started`, `completed` or `failed` for the three workflow event types.
    public static func workflowStage(_ t: EventType) -> String? {
        switch t {
        case .workflowStarted: "started"
        case .workflowCompleted: "completed"
        case .workflowFailed: "failed"
        default: nil
        }
    }

    /// Latency histogram bin `floor(4 · log2(rt))` for rt ≥ 1 (bin i covers [2^(i/4), 2^((i+1)/4)) ms).
    /// The logarithm is only a first guess: it can land one bin off at exact powers of two
    /// (log(8)/log(2) is 2.9999999999999996), so it is corrected against the bin's bounds.
    public static func responseTimeBin(_ rt: Int) -> Int {
        let x = Double(rt)
        var bin = Int((4 * log(x) / log(2.0)).rounded(.down))
        while pow(2.0, Double(bin + 1) / 4) <= x { bin += 1 }
        while pow(2.0, Double(bin) / 4) > x { bin -= 1 }
        return bin
    }

    /// The minute bucket (epoch seconds) of an event time.
    public static func minute(_ ms: Int64) -> Int64 {
        (ms >= 0 ? ms / 60_000 : (ms - 59_999) / 60_000) * 60
    }
}
