import InsightsModel
import InsightsQuery

/// What a rule watches: a headline metric of the overview, an event type's count, escalations, or
/// an intent's share of classified intents. Each is computed from the summed minute counters of
/// the window (docs/metrics.md defines every one; the same fields answer the overview).
public enum AlertMetric: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case fallbackRate, lowConfidenceRate, avgConfidence, avgResponseTimeMs, p95ResponseTimeMs
    case completionRate, automationRate, totalConversations, totalMessages
    case escalations
    case events(EventType)
    case intentShare(String)

    /// How a value is scaled: what a deviation means for ``Anomaly``'s noise floor.
    public enum Kind: Sendable, Equatable {
        /// A count of events or conversations in the window.
        case count
        /// A percentage of a denominator.
        case percent
        /// A duration in ms.
        case milliseconds
        /// A fraction in [0, 1] (confidence).
        case fraction
    }

    public static let headlineNames = [
        "fallback_rate", "low_confidence_rate", "avg_confidence", "avg_response_time_ms", "p95_response_time_ms",
        "completion_rate", "automation_rate", "total_conversations", "total_messages",
    ]

    public init?(_ text: String) {
        switch text {
        case "fallback_rate": self = .fallbackRate
        case "low_confidence_rate": self = .lowConfidenceRate
        case "avg_confidence": self = .avgConfidence
        case "avg_response_time_ms": self = .avgResponseTimeMs
        case "p95_response_time_ms": self = .p95ResponseTimeMs
        case "completion_rate": self = .completionRate
        case "automation_rate": self = .automationRate
        case "total_conversations": self = .totalConversations
        case "total_messages": self = .totalMessages
        case "escalations": self = .escalations
        default:
            if text.hasPrefix("events:"), let t = EventType(rawValue: String(text.dropFirst(7))) {
                self = .events(t)
            } else if text.hasPrefix("intent_share:") {
                // Intent names are bucket field suffixes; the same rule as ingest's for ids keeps
                // them printable and short.
                let intent = String(text.dropFirst(13))
                guard IdentifierRule.isValid(intent) else { return nil }
                self = .intentShare(intent)
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .fallbackRate: "fallback_rate"
        case .lowConfidenceRate: "low_confidence_rate"
        case .avgConfidence: "avg_confidence"
        case .avgResponseTimeMs: "avg_response_time_ms"
        case .p95ResponseTimeMs: "p95_response_time_ms"
        case .completionRate: "completion_rate"
        case .automationRate: "automation_rate"
        case .totalConversations: "total_conversations"
        case .totalMessages: "total_messages"
        case .escalations: "escalations"
        case .events(let t): "events:" + t.rawValue
        case .intentShare(let i): "intent_share:" + i
        }
    }

    public var kind: Kind {
        switch self {
        case .fallbackRate, .lowConfidenceRate, .completionRate, .automationRate, .intentShare: .percent
        case .avgResponseTimeMs, .p95ResponseTimeMs: .milliseconds
        case .avgConfidence: .fraction
        case .totalConversations, .totalMessages, .escalations, .events: .count
        }
    }

    /// The metric's value over `s` and the denominator `min_count` judges (nil for counts: a count
    /// is judged however small). A rate with an empty denominator is 0, as in the overview.
    public func measure(_ s: BucketSums) -> (value: Double, denominator: Int?) {
        func pct(_ a: Int, _ b: Int) -> (Double, Int?) { (b == 0 ? 0 : 100 * Double(a) / Double(b), b) }
        switch self {
        case .fallbackRate: return pct(s["intent:fallback"], s.intents)
        case .lowConfidenceRate: return pct(s.lowConf, s.intentClassified)
        case .avgConfidence: return (s.confCount == 0 ? 0 : Double(s.confSumU) / 1e6 / Double(s.confCount), s.confCount)
        case .avgResponseTimeMs: return (s.rtCount == 0 ? 0 : Double(s.rtSum) / Double(s.rtCount), s.rtCount)
        case .p95ResponseTimeMs: return (s.responseTimePercentile(95), s.rtCount)
        case .completionRate: return pct(s.workflowsCompleted, s.workflowsStarted)
        case .automationRate: return pct(s.outAutomated, s.outSessions)
        case .totalConversations: return (Double(s.conversations), nil)
        case .totalMessages: return (Double(s.messages), nil)
        case .escalations: return (Double(s.escalations), nil)
        case .events(let t): return (Double(s["ev:" + t.rawValue]), nil)
        case .intentShare(let i): return pct(s["intent:" + i], s.intents)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let m = AlertMetric(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown metric \(text)"))
        }
        self = m
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
