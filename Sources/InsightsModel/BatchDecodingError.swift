/// Why a batch request body could not be decoded at all. Problems with single
/// events are reported per element instead (see ``EventDecoding/decodeBatch(json:now:maxEvents:)``).
public enum BatchDecodingError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The body is not valid JSON.
    case malformedJSON(String)
    /// The body is JSON but neither an array nor an object with an `events` array.
    case invalidShape(String)
    /// The batch holds more events than allowed.
    case tooManyEvents(count: Int, max: Int)

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case .malformedJSON(let detail):
            return "malformed JSON: \(detail)"
        case .invalidShape(let detail):
            return "invalid batch: \(detail)"
        case .tooManyEvents(let count, let max):
            return "too many events: \(count) (at most \(max) per batch)"
        }
    }
}
