import InsightsModel

/// The window a result was answered for (documented addition to the seed's fields).
public protocol WindowedResult {
    var resolution: Resolution { get }
    var effectiveStart: String { get }
    var effectiveEnd: String { get }
}

/// `GET conversations/metrics`.
public struct ConversationMetrics: Sendable, Codable, Equatable, WindowedResult {
    public var totalConversations: Int
    public var avgConversationLength: Double
    public var completionRate: Double
    public var avgResponseTimeMs: Double
    public var totalMessages: Int
    // Additions.
    public var totalEvents: Int
    public var p50ResponseTimeMs: Double
    public var p95ResponseTimeMs: Double
    public var p99ResponseTimeMs: Double
    /// LLM token usage: the sums of the events' `data.input_tokens` / `data.output_tokens`.
    public var totalInputTokens: Int
    public var totalOutputTokens: Int
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case totalConversations = "total_conversations"
        case avgConversationLength = "avg_conversation_length"
        case completionRate = "completion_rate"
        case avgResponseTimeMs = "avg_response_time_ms"
        case totalMessages = "total_messages"
        case totalEvents = "total_events"
        case p50ResponseTimeMs = "p50_response_time_ms"
        case p95ResponseTimeMs = "p95_response_time_ms"
        case p99ResponseTimeMs = "p99_response_time_ms"
        case totalInputTokens = "total_input_tokens"
        case totalOutputTokens = "total_output_tokens"
        case resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// `GET nlu/metrics`.
public struct NLUMetrics: Sendable, Codable, Equatable, WindowedResult {
    public var intentDistribution: [String: Int]
    public var avgConfidence: Double
    public var lowConfidenceRate: Double
    public var fallbackRate: Double
    public var totalClassifications: Int
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case intentDistribution = "intent_distribution"
        case avgConfidence = "avg_confidence"
        case lowConfidenceRate = "low_confidence_rate"
        case fallbackRate = "fallback_rate"
        case totalClassifications = "total_classifications"
        case resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// `GET users/drop-off`.
public struct DropOffAnalysis: Sendable, Codable, Equatable, WindowedResult {
    public var dropOffPoints: [String: Int]
    public var totalIncompleteSessions: Int
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case dropOffPoints = "drop_off_points"
        case totalIncompleteSessions = "total_incomplete_sessions"
        case resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// `GET business/automation-rate`.
public struct AutomationRate: Sendable, Codable, Equatable, WindowedResult {
    public var automationRate: Double
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case automationRate = "automation_rate"
        case resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// `GET business/cost-savings`.
public struct CostSavings: Sendable, Codable, Equatable, WindowedResult {
    public var totalConversations: Int
    public var automatedConversations: Int
    public var automationRate: Double
    public var costSavings: Double
    public var costPerInteraction: Double
    public var resolution: Resolution
    public var effectiveStart: String
    public var effectiveEnd: String

    enum CodingKeys: String, CodingKey {
        case totalConversations = "total_conversations"
        case automatedConversations = "automated_conversations"
        case automationRate = "automation_rate"
        case costSavings = "cost_savings"
        case costPerInteraction = "cost_per_interaction"
        case resolution
        case effectiveStart = "effective_start"
        case effectiveEnd = "effective_end"
    }
}

/// `GET dashboard/overview`.
public struct DashboardOverview: Sendable, Codable, Equatable {
    public var timeframe: String
    public var conversationMetrics: ConversationMetrics
    public var nluMetrics: NLUMetrics
    public var automationRate: Double
    /// Addition: the finalized-session counts and savings of the current period (as `business/cost-savings`).
    public var costSavings: CostSavings
    /// Headline metric → % change against the previous period of the same length; `null`
    /// (nil) when the previous value is 0.
    public var changes: [String: Double?]

    enum CodingKeys: String, CodingKey {
        case timeframe
        case conversationMetrics = "conversation_metrics"
        case nluMetrics = "nlu_metrics"
        case automationRate = "automation_rate"
        case costSavings = "cost_savings"
        case changes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeframe, forKey: .timeframe)
        try c.encode(conversationMetrics, forKey: .conversationMetrics)
        try c.encode(nluMetrics, forKey: .nluMetrics)
        try c.encode(automationRate, forKey: .automationRate)
        try c.encode(costSavings, forKey: .costSavings)
        var nested = c.nestedContainer(keyedBy: AnyKey.self, forKey: .changes)
        for (k, v) in changes.sorted(by: { $0.key < $1.key }) {
            if let v { try nested.encode(v, forKey: AnyKey(k)) } else { try nested.encodeNil(forKey: AnyKey(k)) }
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// One point of `GET conversations/timeseries`.
public struct TimeseriesPoint: Sendable, Codable, Equatable {
    public var date: String
    public var conversations: Int
    public var messages: Int
    public var events: Int
    public var avgResponseTimeMs: Double
    public var intents: Int
    public var fallbacks: Int
    public var escalations: Int
    public var workflowsStarted: Int
    public var workflowsCompleted: Int

    enum CodingKeys: String, CodingKey {
        case date, conversations, messages, events
        case avgResponseTimeMs = "avg_response_time_ms"
        case intents, fallbacks, escalations
        case workflowsStarted = "workflows_started"
        case workflowsCompleted = "workflows_completed"
    }
}

public struct Timeseries: Sendable, Codable, Equatable {
    public var interval: Resolution
    public var points: [TimeseriesPoint]
}

/// One event of a journey: the seed's {timestamp, type, data} plus additions.
public struct JourneyEvent: Sendable, Codable, Equatable {
    public var timestamp: String
    public var type: String
    public var data: JSONValue
    public var eventID: String?
    public var intent: String?
    public var responseTimeMs: Int?

    enum CodingKeys: String, CodingKey {
        case timestamp, type, data
        case eventID = "event_id"
        case intent
        case responseTimeMs = "response_time_ms"
    }
}

/// `GET users/journey/{session_id}`: the seed's {session_id, journey} plus agent_id.
public struct Journey: Sendable, Codable, Equatable {
    public var sessionID: String
    public var agentID: String
    public var journey: [JourneyEvent]

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case agentID = "agent_id"
        case journey
    }
}

public enum QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidWindow(String)
    case tooManyPoints(Int, max: Int)
    case unknownTimeframe(String)
    case badReply(String)

    public var description: String {
        switch self {
        case .invalidWindow(let s): "invalid window: \(s)"
        case .tooManyPoints(let n, let max): "the window has \(n) points at this interval (at most \(max))"
        case .unknownTimeframe(let t): "unknown timeframe \(t) (24h, 7d, 30d or 90d)"
        case .badReply(let s): "unexpected reply from Redis: \(s)"
        }
    }
}
