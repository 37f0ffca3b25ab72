/// How long bucket counters and per-session data live (docs/keys.md): the one place the defaults
/// are defined, used by ingest, the workers, the queries and `insights migrate` alike.
public struct Retention: Sendable, Equatable {
    /// Minute buckets, seconds past the bucket's end. Default 48 h.
    public var minute: Int
    /// Hour buckets. Default 35 days.
    public var hour: Int
    /// Day buckets. Default 400 days.
    public var day: Int
    /// Session state and journeys, after the session's last event. Default 35 days.
    public var session: Int

    public init(minute: Int = 48 * 3600, hour: Int = 35 * 86400, day: Int = 400 * 86400, session: Int = 35 * 86400) {
        self.minute = minute
        self.hour = hour
        self.day = day
        self.session = session
    }

    public static let `default` = Retention()

    /// The seconds a bucket of resolution `r` lives past its end.
    public func ttl(_ r: Resolution) -> Int64 {
        switch r {
        case .minute: Int64(minute)
        case .hour: Int64(hour)
        case .day: Int64(day)
        }
    }
}

/// The resolution of a counter bucket, and of the edges of a window answered from buckets.
public enum Resolution: String, Sendable, Codable, Comparable, CaseIterable {
    case minute, hour, day

    /// Bucket length in seconds.
    public var seconds: Int64 {
        switch self {
        case .minute: 60
        case .hour: 3600
        case .day: 86400
        }
    }

    /// The letter in the key: `c:m:`, `c:h:`, `c:d:`.
    public var keyLetter: String {
        switch self {
        case .minute: "m"
        case .hour: "h"
        case .day: "d"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.seconds < b.seconds }
}
