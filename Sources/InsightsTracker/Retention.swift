/// How long bucket counters and session records live (docs/keys.md).
public struct Retention: Sendable, Equatable {
    /// Minute buckets, seconds past the bucket's end. Default 48 h.
    public var minute: Int
    /// Hour buckets. Default 35 days.
    public var hour: Int
    /// Day buckets. Default 400 days.
    public var day: Int
    /// Session records (`sf:<session>`), after the session's last event. Default 35 days.
    public var session: Int

    public init(minute: Int = 48 * 3600, hour: Int = 35 * 86400, day: Int = 400 * 86400, session: Int = 35 * 86400) {
        self.minute = minute
        self.hour = hour
        self.day = day
        self.session = session
    }

    public static let `default` = Retention()
}
