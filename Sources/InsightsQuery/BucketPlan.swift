import InsightsModel

/// One bucket: its resolution and its start in epoch seconds.
public struct Bucket: Sendable, Hashable, CustomStringConvertible {
    public var resolution: Resolution
    public var start: Int64

    public init(_ resolution: Resolution, _ start: Int64) {
        self.resolution = resolution
        self.start = start
    }

    /// The bucket's counters key (docs/keys.md).
    public func key(_ keys: AgentKeys, family: CounterFamily? = nil) -> String { keys.counters(resolution, start, family: family) }
    public func key(_ keys: AgentKeys, _ which: CounterKey) -> String { keys.counters(resolution, start, key: which) }
    public var keySuffix: String { "c:\(resolution.keyLetter):\(start)" }
    public var end: Int64 { start + resolution.seconds }
    public var description: String { keySuffix }
}

/// A window tiled by buckets: day buckets in the middle, hour then minute buckets at the
/// edges. Pure: depends only on its arguments.
public struct BucketPlan: Sendable, Equatable {
    /// The buckets, in time order, covering [effectiveStart, effectiveEnd) exactly once.
    public var buckets: [Bucket]
    /// The precision of the edges: `minute` normally; `hour` (or `day`) when an edge had to
    /// be rounded because the finer buckets there had expired.
    public var resolution: Resolution
    /// The window actually answered, epoch ms.
    public var effectiveStartMs: Int64
    public var effectiveEndMs: Int64

    /// Plans the window [startMs, endMs).
    ///
    /// 1. The edges are aligned to minutes: start rounded down, end rounded up.
    /// 2. A bucket of resolution r starting at s exists while `s + len(r) + ttl(r) > now`.
    ///    If the minute buckets an edge needs have expired, that edge is rounded outward to
    ///    the hour; if the hour buckets it then needs have expired, to the day. The start is
    ///    never earlier than the oldest day bucket that still exists.
    /// 3. [start, end) is tiled: minutes up to the first hour boundary, hours up to the first
    ///    day boundary, days, hours from the last day boundary, minutes from the last hour
    ///    boundary.
    ///
    /// `finest: .hour` plans counters that have no minute buckets (breakdown slices, intent paths:
    /// docs/keys.md): both edges are rounded out to the hour, as if the minute buckets had expired.
    public static func plan(startMs: Int64, endMs: Int64, nowMs: Int64, retention: Retention = .default,
                            finest: Resolution = .minute) -> BucketPlan {
        let nowS = floorDiv(nowMs, 1000)
        var s = floorDiv(startMs, 1000)
        s = floorTo(s, 60)
        var e = ceilTo(ceilDiv(endMs, 1000), 60)
        if e <= s { return BucketPlan(buckets: [], resolution: .minute, effectiveStartMs: s * 1000, effectiveEndMs: s * 1000) }

        // Oldest existing bucket start of each resolution: the smallest aligned s with s + len + ttl > now.
        func oldest(_ r: Resolution) -> Int64 { floorTo(nowS - r.seconds - retention.ttl(r), r.seconds) + r.seconds }
        let mCut = finest == .minute ? oldest(.minute) : Int64.max, hCut = oldest(.hour), dCut = oldest(.day)
        var resolution = Resolution.minute

        // Start edge: minute buckets [s, ceil_h(s)) are needed unless s is on an hour.
        if s % 3600 != 0 && s < mCut {
            s = floorTo(s, 3600)
            resolution = max(resolution, .hour)
        }
        if s % 86400 != 0 && s < hCut {
            s = floorTo(s, 86400)
            resolution = max(resolution, .day)
        }
        if s < dCut { s = dCut }
        if e <= s { return BucketPlan(buckets: [], resolution: resolution, effectiveStartMs: s * 1000, effectiveEndMs: s * 1000) }
        // End edge: the oldest minute bucket needed there is max(s, floor_h(e)).
        if e % 3600 != 0 && max(s, floorTo(e, 3600)) < mCut {
            e = ceilTo(e, 3600)
            resolution = max(resolution, .hour)
        }
        if e % 86400 != 0 && max(s, floorTo(e, 86400)) < hCut {
            e = ceilTo(e, 86400)
            resolution = max(resolution, .day)
        }

        var buckets: [Bucket] = []
        func add(_ r: Resolution, _ from: Int64, _ to: Int64) {
            var t = from
            while t < to {
                buckets.append(Bucket(r, t))
                t += r.seconds
            }
        }
        let hS = ceilTo(s, 3600), hE = floorTo(e, 3600)
        if hS >= hE {
            add(.minute, s, e)
        } else {
            add(.minute, s, hS)
            let dS = ceilTo(hS, 86400), dE = floorTo(hE, 86400)
            if dS >= dE {
                add(.hour, hS, hE)
            } else {
                add(.hour, hS, dS)
                add(.day, dS, dE)
                add(.hour, dE, hE)
            }
            add(.minute, hE, e)
        }
        return BucketPlan(buckets: buckets, resolution: resolution, effectiveStartMs: s * 1000, effectiveEndMs: e * 1000)
    }
}

/// Division rounding toward −∞ (bucket starts of negative times), shared with the alert engine.
@inline(__always) public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always) public func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { -floorDiv(-a, b) }
@inline(__always) func floorTo(_ a: Int64, _ m: Int64) -> Int64 { floorDiv(a, m) * m }
@inline(__always) func ceilTo(_ a: Int64, _ m: Int64) -> Int64 { ceilDiv(a, m) * m }
