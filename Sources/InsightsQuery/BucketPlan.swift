/// The resolution of a bucket, and of the edges of a window answered from buckets.
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

    /// The letter in the key: `b:m:`, `b:h:`, `b:d:`.
    public var keyLetter: String {
        switch self {
        case .minute: "m"
        case .hour: "h"
        case .day: "d"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.seconds < b.seconds }
}

/// How long buckets live past their end, in seconds (docs/keys.md). Mirrors the tracker's
/// `Retention` without depending on the tracker.
public struct BucketRetention: Sendable, Equatable {
    public var minute: Int64
    public var hour: Int64
    public var day: Int64

    public init(minute: Int64 = 48 * 3600, hour: Int64 = 35 * 86400, day: Int64 = 400 * 86400) {
        self.minute = minute
        self.hour = hour
        self.day = day
    }

    public static let `default` = BucketRetention()

    public func ttl(_ r: Resolution) -> Int64 {
        switch r {
        case .minute: minute
        case .hour: hour
        case .day: day
        }
    }
}

/// One bucket: its resolution and its start in epoch seconds.
public struct Bucket: Sendable, Hashable, CustomStringConvertible {
    public var resolution: Resolution
    public var start: Int64

    public init(_ resolution: Resolution, _ start: Int64) {
        self.resolution = resolution
        self.start = start
    }

    /// The key suffix after the agent prefix: `b:m:<start>`.
    public var keySuffix: String { "b:\(resolution.keyLetter):\(start)" }
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
    public static func plan(startMs: Int64, endMs: Int64, nowMs: Int64, retention: BucketRetention = .default) -> BucketPlan {
        let nowS = floorDiv(nowMs, 1000)
        var s = floorDiv(startMs, 1000)
        s = floorTo(s, 60)
        var e = ceilTo(ceilDiv(endMs, 1000), 60)
        if e <= s { return BucketPlan(buckets: [], resolution: .minute, effectiveStartMs: s * 1000, effectiveEndMs: s * 1000) }

        // Oldest existing bucket start of each resolution: the smallest aligned s with s + len + ttl > now.
        func oldest(_ r: Resolution) -> Int64 { floorTo(nowS - r.seconds - retention.ttl(r), r.seconds) + r.seconds }
        let mCut = oldest(.minute), hCut = oldest(.hour), dCut = oldest(.day)
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

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always) func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { -floorDiv(-a, b) }
@inline(__always) func floorTo(_ a: Int64, _ m: Int64) -> Int64 { floorDiv(a, m) * m }
@inline(__always) func ceilTo(_ a: Int64, _ m: Int64) -> Int64 { ceilDiv(a, m) * m }
