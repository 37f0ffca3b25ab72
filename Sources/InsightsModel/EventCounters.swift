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
        // They and the workflows go to family `q`: only quality/metrics and workflows/metrics read them.
        if e.eventType == .userFeedback {
            out.append(("q/fb:n", 1))
            if let r = e.data["rating"]?.intValue, (1...5).contains(r) {
                out.append(("q/fb:rating_sum", r))
                out.append(("q/fb:rating_n", 1))
                if r >= 4 { out.append(("q/fb:csat", 1)) }
            }
            switch e.data["thumbs"]?.stringValue {
            case "up": out.append(("q/fb:up", 1))
            case "down": out.append(("q/fb:down", 1))
            default: break
            }
        }
        if let s = e.sentiment, !s.isEmpty { out.append(("q/sent:" + sentimentClass(s), 1)) }
        // Workflows by name (docs/metrics.md, *Workflows*).
        if let stage = workflowStage(e.eventType), let name = e.workflowName {
            out.append(("q/wf:\(stage):" + name, 1))
            if e.eventType == .workflowCompleted, let d = e.durationMs {
                out.append(("q/wfd:sum:" + name, d))
                out.append(("q/wfd:n:" + name, 1))
            }
        }
        // LLM token usage (docs/metrics.md, *Token usage*): any event's `data.input_tokens` / `data.output_tokens`.
        if let n = tokenCount(e.data[inputTokensKey]) { out.append(("tok_in", n)) }
        if let n = tokenCount(e.data[outputTokensKey]) { out.append(("tok_out", n)) }
        if e.eventType == .apiCall { systemAPICall(e, &out) }
        if e.eventType == .error {
            out.append(("x/errors", 1))
            out.append((capped("x/", "e", .errorCode, AnalyticsEvent.counterName(e.data["code"]) ?? "unknown"), 1))
        }
        if e.eventType == .intentClassified, let intent = e.intent, let conf = e.confidence { intentDepth(intent, conf, &out) }
        if e.eventType == .entityExtracted {
            // One field per type (a contribution is a map): a type that comes twice adds 2.
            var seen: [String: Int] = [:]
            for type in entityTypes(e) {
                if let i = seen[type] { out[i].1 += 1 } else {
                    seen[type] = out.count
                    out.append((capped("n/", "e", .entityType, type), 1))
                }
            }
        }
        return out
    }

    /// The `data` keys of an event's LLM token usage (the OTLP mapping writes them from
    /// `gen_ai.usage.input_tokens` / `gen_ai.usage.output_tokens`).
    public static let inputTokensKey = "input_tokens"
    public static let outputTokensKey = "output_tokens"
    /// The most tokens one event may count; a value that is not an integer in 1...this is not counted
    /// (the event is kept with its `data` as sent).
    public static let maxTokensPerEvent = 100_000_000

    public static func tokenCount(_ v: JSONValue?) -> Int? {
        guard let n = v?.intValue, n > 0, n <= maxTokensPerEvent else { return nil }
        return n
    }

    // MARK: Breakdowns (docs/keys.md, *Breakdown slices*)

    /// Whether a field of the bucket's own map is also counted in the slices of the event's
    /// dimension values: the fields the filtered endpoints read (conversations/metrics,
    /// nlu/metrics, dashboard/overview; docs/keys.md, *Breakdown slices*) and no other, as every
    /// field of a slice costs every batch that touches it.
    public static func isSliceField(_ field: String) -> Bool {
        if field.hasPrefix("ev:") { return slicedEventTypes.contains(field) }
        return slicedFields.contains(field) || field.hasPrefix("rt:") || field.hasPrefix("intent:")
    }

    static let slicedEventTypes: Set<String> = ["ev:workflow_started", "ev:workflow_completed", "ev:intent_classified"]
    static let slicedFields: Set<String> = [
        "events", "messages", "rt_sum", "rt_count", "intents", "conf_sum_u", "conf_count", "low_conf", "tok_in", "tok_out",
    ]

    /// The ingest script's `dims` argument: "" if the event has none of the dimensions, else their
    /// values joined by U+001F (an absent one empty), in ``Dimension`` order.
    public static func dims(of e: AnalyticsEvent) -> String {
        let values = Dimension.allCases.map { $0.value(of: e) ?? "" }
        return values.allSatisfy(\.isEmpty) ? "" : values.joined(separator: "\u{1F}")
    }

    // MARK: Counter families (docs/keys.md, *Counter families*)

    /// Kinds of names whose number is capped per agent (``capped(_:_:_:_:)``), with the registry
    /// each has in Redis (`P nm:<kind>`, lua/ingest.lua).
    public enum NameKind: String, Sendable, CaseIterable {
        case endpoint = "ep", errorCode = "ec", entityType = "et"
        /// The breakdown dimensions' values (``Dimension``), capped the same way.
        case channel = "ch", platform = "pl", location = "lo"
    }

    /// A field of a counter family (`<family letter>/`, stored in `P c:<res>:<start>:<letter>`)
    /// counted by a capped name: the ingest script stores it as `<head>:<name>`, or `<head>:other`
    /// once the agent has ``nameCap`` names of that kind and this is not one of them.
    static func capped(_ family: String, _ head: String, _ kind: NameKind, _ name: String) -> String {
        family + head + "\u{1F}" + kind.rawValue + "\u{1F}" + name
    }

    /// How many names of each ``NameKind`` an agent has counted by name (the same figure is
    /// `NAME_CAP` in lua/common.lua).
    public static let nameCap = 50

    /// System events (docs/metrics.md, *System events*): an api_call's count, failure and latency,
    /// overall and by `data.endpoint`.
    static func systemAPICall(_ e: AnalyticsEvent, _ out: inout [(String, Int)]) {
        let endpoint = AnalyticsEvent.counterName(e.data["endpoint"]) ?? "unknown"
        out.append(("x/calls", 1))
        out.append((capped("x/", "c", .endpoint, endpoint), 1))
        if apiCallFailed(e) {
            out.append(("x/fail", 1))
            out.append((capped("x/", "f", .endpoint, endpoint), 1))
        }
        if let d = e.durationMs, d >= 0 {
            let bin = d >= 1 ? responseTimeBin(d) : -1
            out.append(("x/l\(bin)", 1))
            out.append((capped("x/", "h\(bin)", .endpoint, endpoint), 1))
        }
    }

    /// An api_call failed when `data.status_code` ≥ 500 or `data.success` is false.
    public static func apiCallFailed(_ e: AnalyticsEvent) -> Bool {
        if let code = e.data["status_code"]?.doubleValue, code >= 500 { return true }
        return e.data["success"] == .bool(false)
    }

    /// Confidence bins: bin k holds confidences c with k/20 ≤ c < (k+1)/20, so that "below a
    /// threshold m/20" is the sum of bins 0..<m, exactly (the comparison is made with the same
    /// doubles a threshold parameter parses to). c = 1 is bin 20, below no threshold, not stored.
    public static let confidenceBins = 20

    public static func confidenceBin(_ c: Double) -> Int {
        var k = Int((c * Double(confidenceBins)).rounded(.down))
        while k > 0 && Double(k) / Double(confidenceBins) > c { k -= 1 }
        while Double(k + 1) / Double(confidenceBins) <= c { k += 1 }
        return k
    }

    /// Intents in depth (docs/metrics.md): per intent, the confidence sum and count (as the
    /// headline average: a 0 is left out) and the confidence bins.
    static func intentDepth(_ intent: String, _ conf: Double, _ out: inout [(String, Int)]) {
        if conf > 0 {
            let micro = Int((conf * 1e6 + 0.5).rounded(.down))
            if micro != 0 { out.append(("n/s:" + intent, micro)) }
            out.append(("n/k:" + intent, 1))
        }
        let bin = confidenceBin(conf)
        if bin < confidenceBins { out.append(("n/b\(bin):" + intent, 1)) }
    }

    /// The entity types of an entity_extracted event: `data.entities[].type` and `data.entity`
    /// when it is a string: one per entity, so a type can come twice.
    public static func entityTypes(_ e: AnalyticsEvent) -> [String] {
        var out: [String] = []
        for x in e.data["entities"]?.arrayValue ?? [] {
            if case .string? = x["type"], let t = AnalyticsEvent.counterName(x["type"]) { out.append(t) }
        }
        if case .string? = e.data["entity"], let t = AnalyticsEvent.counterName(e.data["entity"]) { out.append(t) }
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

    /// The hour bucket (epoch seconds) of an event time: where slices are summed (they have no minute buckets).
    public static func hour(_ ms: Int64) -> Int64 {
        (ms >= 0 ? ms / 3_600_000 : (ms - 3_599_999) / 3_600_000) * 3600
    }
}

/// The breakdown dimensions (docs/metrics.md, *Breakdowns and filters*): a conversation takes the
/// value of its first event, an event counts by its own; an absent value is `unknown`. The raw
/// value is the code of the dimension in keys and fields.
public enum Dimension: String, Sendable, CaseIterable {
    case channel = "ch", platform = "pl", location = "lo"

    /// Its name in the API (`dimension=`, and the filter parameter).
    public var name: String {
        switch self {
        case .channel: "channel"
        case .platform: "platform"
        case .location: "location"
        }
    }

    public init?(name: String) {
        guard let d = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = d
    }

    /// The registry kind of its values (they are capped like the other names).
    public var kind: EventCounters.NameKind {
        switch self {
        case .channel: .channel
        case .platform: .platform
        case .location: .location
        }
    }

    /// The event's value (validated text of at most 64 characters), nil if absent or empty.
    public func value(of e: AnalyticsEvent) -> String? {
        let v: String?
        switch self {
        case .channel: v = e.channel
        case .platform: v = e.platform
        case .location: v = e.location
        }
        guard let v, !v.isEmpty else { return nil }
        return v
    }
}
