/// The limits enforced by event validation.
public enum EventLimits {
    /// Maximum length of an id (event, session, user, agent), in characters.
    public static let maxIDLength = 128
    /// Maximum length of `channel`, `platform`, `location`, `sentiment`, in characters.
    public static let maxTextLength = 64
    /// Maximum length of `data.intent`, in characters.
    public static let maxIntentLength = 128
    /// Upper sanity cap for `duration_ms` and `response_time_ms`: 24 hours.
    public static let maxDurationMs = 86_400_000
    /// How far in the future (relative to `now`) a timestamp may be: 5 minutes.
    public static let maxFutureSkewMs: Int64 = 300_000
    /// The earliest accepted timestamp: 2000-01-01T00:00:00Z.
    public static let minTimestampMs: Int64 = 946_684_800_000
    /// Maximum size of `data` as compact JSON, in bytes (16 KiB).
    public static let maxDataBytes = 16_384
    /// Maximum nesting depth of `data`, counting `data` itself as level 1
    /// (so `{"a": {"b": 1}}` has depth 2).
    public static let maxDataDepth = 32
    /// Default maximum number of events in one batch.
    public static let defaultMaxBatchEvents = 1000
}
