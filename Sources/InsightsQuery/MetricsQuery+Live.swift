import InsightsModel
import RedisClient

/// A session waiting for the bot longer than the stuck threshold.
public struct StuckSession: Sendable, Codable, Equatable {
    public var sessionID: String
    public var waitingMs: Int64
    public var lastEventType: String?

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case waitingMs = "waiting_ms"
        case lastEventType = "last_event_type"
    }
}

/// `GET /api/v1/analytics/live` (docs/metrics.md, *Live state*).
public struct LiveState: Sendable, Codable, Equatable {
    public var asOf: String
    public var activeConversations: Int
    public var waitingForBot: Int
    /// How long the longest-waiting session has waited (ms), nil if none waits.
    public var oldestWaitMs: Int64?
    /// Events (by their time) in the last complete minute.
    public var eventsLastMinute: Int
    /// Events so far in the current minute.
    public var eventsThisMinute: Int
    /// Sessions waiting longer than the threshold, at most ``MetricsQuery/maxStuck``, longest first.
    public var stuckSessions: [StuckSession]
    /// How many wait longer than the threshold (the list is capped).
    public var stuckCount: Int
    public var activeWindowS: Int
    public var stuckAfterS: Int

    enum CodingKeys: String, CodingKey {
        case asOf = "as_of"
        case activeConversations = "active_conversations"
        case waitingForBot = "waiting_for_bot"
        case oldestWaitMs = "oldest_wait_ms"
        case eventsLastMinute = "events_last_minute"
        case eventsThisMinute = "events_this_minute"
        case stuckSessions = "stuck_sessions"
        case stuckCount = "stuck_count"
        case activeWindowS = "active_window_s"
        case stuckAfterS = "stuck_after_s"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(activeConversations, forKey: .activeConversations)
        try c.encode(waitingForBot, forKey: .waitingForBot)
        try c.encode(oldestWaitMs, forKey: .oldestWaitMs)  // null when nobody waits
        try c.encode(eventsLastMinute, forKey: .eventsLastMinute)
        try c.encode(eventsThisMinute, forKey: .eventsThisMinute)
        try c.encode(stuckSessions, forKey: .stuckSessions)
        try c.encode(stuckCount, forKey: .stuckCount)
        try c.encode(activeWindowS, forKey: .activeWindowS)
        try c.encode(stuckAfterS, forKey: .stuckAfterS)
    }
}

extension MetricsQuery {
    /// Most stuck sessions listed.
    public static let maxStuck = 20

    /// The live state of `agent` at `now` (ms): two pipelines of O(log n) reads on the sets ingest
    /// keeps (`P act`, `P wait`), the minute counters of this minute and the last, and the last
    /// event type of at most 20 stuck sessions. Never a scan of stored events.
    public func live(agent: String, now: Int64, activeWindowMs: Int64 = 300_000, stuckAfterMs: Int64 = 30_000) async throws -> LiveState {
        let keys = AgentKeys(agent)
        let minute = floorDiv(now, 60_000) * 60
        let stuckBefore = String(now - stuckAfterMs)
        let replies = try await client.pipeline([
            RedisCommand("ZCOUNT", key: keys.active, String(now - activeWindowMs), "+inf"),
            RedisCommand("ZCARD", key: keys.waiting),
            RedisCommand("ZRANGE", key: keys.waiting, "0", "0", "WITHSCORES"),
            RedisCommand("ZRANGEBYSCORE", key: keys.waiting, "-inf", "(" + stuckBefore, "WITHSCORES", "LIMIT", "0", String(Self.maxStuck)),
            RedisCommand("ZCOUNT", key: keys.waiting, "-inf", "(" + stuckBefore),
        ])
        let values = try replies.map { try $0.get() }
        func scored(_ v: RESPValue) -> [(String, Int64)] {
            let a = v.array ?? []
            return stride(from: 0, to: a.count - 1, by: 2).compactMap { i in
                guard let m = a[i].string, let s = a[i + 1].string.flatMap(Double.init) else { return nil }
                return (m, Int64(s))
            }
        }
        let oldest = scored(values[2]).first.map { max(0, now - $0.1) }
        let stuck = scored(values[3])
        let types = stuck.isEmpty ? [] : try await client.pipeline(stuck.map { RedisCommand("HGET", key: keys.session($0.0), "lt") })
        let counters = try await read(agent: agent, buckets: [Bucket(.minute, minute - 60), Bucket(.minute, minute)])
        return LiveState(
            asOf: ISO8601.format(ms: now), activeConversations: values[0].int ?? 0, waitingForBot: values[1].int ?? 0,
            oldestWaitMs: oldest, eventsLastMinute: counters[0]["events"] ?? 0, eventsThisMinute: counters[1]["events"] ?? 0,
            stuckSessions: zip(stuck, types).map { s, t in
                let name = t.string.flatMap { UInt8($0) }.flatMap { EventType(code: $0) }?.rawValue
                return StuckSession(sessionID: s.0, waitingMs: max(0, now - s.1), lastEventType: name)
            },
            stuckCount: values[4].int ?? 0, activeWindowS: Int(activeWindowMs / 1000), stuckAfterS: Int(stuckAfterMs / 1000))
    }
}
