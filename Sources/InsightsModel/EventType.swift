/// The kind of an analytics event.
///
/// The raw values are the snake_case strings used on the wire, in Redis bucket
/// fields (`ev:<event_type>`) and by the Lua ingest script.
public enum EventType: String, CaseIterable, Codable, Sendable, Hashable {
    /// A conversation (session) began.
    case conversationStart = "conversation_start"
    /// A conversation ended normally.
    case conversationEnd = "conversation_end"
    /// The user sent a message.
    case userMessage = "user_message"
    /// The bot answered; usually carries `response_time_ms`.
    case botResponse = "bot_response"
    /// NLU classified an intent; usually carries `data.intent` and `confidence`.
    case intentClassified = "intent_classified"
    /// NLU extracted entities.
    case entityExtracted = "entity_extracted"
    /// A workflow started.
    case workflowStarted = "workflow_started"
    /// A workflow completed successfully.
    case workflowCompleted = "workflow_completed"
    /// A workflow failed.
    case workflowFailed = "workflow_failed"
    /// An outbound API call was made.
    case apiCall = "api_call"
    /// An error occurred.
    case error = "error"
    /// The user left feedback.
    case userFeedback = "user_feedback"
    /// Any application-defined event.
    case custom = "custom"

    /// Whether this type counts as a conversation message
    /// (`user_message` or `bot_response`).
    public var isMessage: Bool {
        self == .userMessage || self == .botResponse
    }
}

extension EventType {
    /// The one-byte code of the type in journey records (docs/keys.md; `lua/common.lua` lists the same
    /// table): the declaration order above, which never changes (new types are added at the end).
    public var code: UInt8 { EventType.codeTable[self]! }

    /// The type of a code, nil if unknown.
    public init?(code: UInt8) {
        guard Int(code) < EventType.allCases.count else { return nil }
        self = EventType.allCases[Int(code)]
    }

    private static let codeTable: [EventType: UInt8] = Dictionary(
        uniqueKeysWithValues: EventType.allCases.enumerated().map { ($1, UInt8($0)) })
}
