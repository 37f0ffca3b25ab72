/// Why one event was rejected: the offending field and a precise message.
///
/// `field` is the JSON name (`confidence`, `data.intent`, ...), or `event` for
/// a problem with the event as a whole (not a JSON object, malformed JSON).
public struct EventValidationError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The JSON field name, e.g. `event_type` or `data.intent`.
    public var field: String
    /// What is wrong, e.g. `unknown event type 'foo'`.
    public var message: String

    /// Creates an error for `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// `<field>: <message>`, e.g. `event_type: unknown event type 'foo'`.
    public var description: String { "\(field): \(message)" }
}
