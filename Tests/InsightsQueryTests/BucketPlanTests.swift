import InsightsModel
@testable import InsightsQuery
import Testing

/// Tilings computed by hand. D(n) = start of day n after 2026-01-10 (epoch s); times in seconds.
@Suite("BucketPlan")
struct BucketPlanTests {
    static let day0 = ISO8601.days(year: 2026, month: 1, day: 10) * 86400
    func D(_ n: Int64, _ h: Int64 = 0, _ m: Int64 = 0, _ s: Int64 = 0) -> Int64 { Self.day0 + n * 86400 + h * 3600 + m * 60 + s }
    func plan(_ start: Int64, _ end: Int64, now: Int64, retention: Retention = .default) -> BucketPlan {
        BucketPlan.plan(startMs: start * 1000, endMs: end * 1000, nowMs: now * 1000, retention: retention)
    }
    func minutes(_ from: Int64, _ n: Int) -> [Bucket] { (0..<n).map { Bucket(.minute, from + Int64($0) * 60) } }
    func hours(_ from: Int64, _ n: Int) -> [Bucket] { (0..<n).map { Bucket(.hour, from + Int64($0) * 3600) } }
    func days(_ from: Int64, _ n: Int) -> [Bucket] { (0..<n).map { Bucket(.day, from + Int64($0) * 86400) } }

    @Test func windowInsideOneHour() {
        // 10:05:30 → 10:08:10: start rounded down, end up, to the minute.
        let p = plan(D(0, 10, 5, 30), D(0, 10, 8, 10), now: D(0, 11))
        #expect(p.buckets == minutes(D(0, 10, 5), 4))
        #expect(p.resolution == .minute)
        #expect(p.effectiveStartMs == D(0, 10, 5) * 1000 && p.effectiveEndMs == D(0, 10, 9) * 1000)
        #expect(p.buckets.first?.keySuffix == "c:m:\(D(0, 10, 5))")
    }

    @Test func millisecondEdges() {
        let p = BucketPlan.plan(startMs: D(0, 10, 5) * 1000 + 1, endMs: D(0, 10, 6) * 1000 + 1, nowMs: D(0, 11) * 1000)
        #expect(p.buckets == minutes(D(0, 10, 5), 2))
    }

    @Test func spanningDays() {
        // D0 22:58 → D3 01:02: 2 minutes, hour 23, days D1 D2, hour D3 00, 2 minutes.
        // now D2: minute buckets exist from D0 00:00 (48 h).
        let p = plan(D(0, 22, 58), D(3, 1, 2), now: D(2))
        #expect(p.buckets == minutes(D(0, 22, 58), 2) + hours(D(0, 23), 1) + days(D(1), 2) + hours(D(3), 1) + minutes(D(3, 1), 2))
        #expect(p.resolution == .minute)
        #expect(p.buckets.count == 8)
    }

    @Test func crossingOneHourBoundaryOnly() {
        // 10:30 → 11:30: no whole hour inside, 60 minutes.
        let p = plan(D(0, 10, 30), D(0, 11, 30), now: D(0, 12))
        #expect(p.buckets == minutes(D(0, 10, 30), 60))
        // 10:30 → 12:15: minutes to 11:00, hour 11, minutes 12:00–12:14.
        let q = plan(D(0, 10, 30), D(0, 12, 15), now: D(0, 13))
        #expect(q.buckets == minutes(D(0, 10, 30), 30) + hours(D(0, 11), 1) + minutes(D(0, 12), 15))
    }

    @Test func edgesExactlyOnBoundaries() {
        #expect(plan(D(0), D(2), now: D(2, 1)).buckets == days(D(0), 2))
        #expect(plan(D(0, 1), D(0, 3), now: D(1)).buckets == hours(D(0, 1), 2))
        #expect(plan(D(0, 23), D(2, 1), now: D(3)).buckets == hours(D(0, 23), 1) + days(D(1), 1) + hours(D(2), 1))
        #expect(plan(D(0, 10, 1), D(0, 10, 2), now: D(1)).buckets == minutes(D(0, 10, 1), 1))
        let empty = plan(D(0, 10), D(0, 10), now: D(1))
        #expect(empty.buckets.isEmpty && empty.effectiveStartMs == empty.effectiveEndMs)
    }

    @Test func thirtyDayWindowStaysSmall() {
        let p = plan(D(0, 0, 1), D(30, 23, 59), now: D(31), retention: Retention(minute: 400 * 86400))
        #expect(p.buckets == minutes(D(0, 0, 1), 59) + hours(D(0, 1), 23) + days(D(1), 29) + hours(D(30), 23) + minutes(D(30, 23), 59))
        #expect(p.buckets.count == 59 + 23 + 29 + 23 + 59)
    }

    @Test func expiredMinutesRoundTheStartToTheHour() {
        // now D10 12:00: minute buckets exist from D8 12:00 (48 h). Start D7 10:30 → D7 10:00.
        let p = plan(D(7, 10, 30), D(10, 11, 15), now: D(10, 12))
        #expect(p.buckets == hours(D(7, 10), 14) + days(D(8), 2) + hours(D(10), 11) + minutes(D(10, 11), 15))
        #expect(p.resolution == .hour)
        #expect(p.effectiveStartMs == D(7, 10) * 1000 && p.effectiveEndMs == D(10, 11, 15) * 1000)
        // The oldest minute bucket still there is used at minute resolution.
        let edge = plan(D(8, 12), D(8, 12, 3), now: D(10, 12))
        #expect(edge.buckets == minutes(D(8, 12), 3) && edge.resolution == .minute)
        let gone = plan(D(8, 11, 59), D(8, 12, 3), now: D(10, 12))
        #expect(gone.resolution == .hour && gone.buckets == hours(D(8, 11), 1) + minutes(D(8, 12), 3))
    }

    @Test func expiredMinutesRoundTheEndToTheHour() {
        let p = plan(D(7, 10, 30), D(7, 12, 20), now: D(10, 12))
        #expect(p.buckets == hours(D(7, 10), 3))
        #expect(p.resolution == .hour && p.effectiveEndMs == D(7, 13) * 1000)
    }

    @Test func expiredHoursRoundToTheDay() {
        // now D100: hour buckets exist from D65 (35 days), minute buckets from D98.
        let p = plan(D(50, 5, 30), D(60, 7), now: D(100))
        #expect(p.buckets == days(D(50), 11))
        #expect(p.resolution == .day)
        #expect(p.effectiveStartMs == D(50) * 1000 && p.effectiveEndMs == D(61) * 1000)
        // Start in expired hours, end in live minutes.
        let q = plan(D(60, 5), D(99, 1, 1), now: D(100))
        #expect(q.buckets == days(D(60), 5) + hours(D(65), 0) + days(D(65), 34) + hours(D(99), 1) + minutes(D(99, 1), 1))
        #expect(q.resolution == .day)
    }

    @Test func expiredDaysClampTheStart() {
        // now D500: day buckets exist from D100 (400 days).
        let p = plan(D(50), D(120), now: D(500))
        #expect(p.buckets == days(D(100), 20) && p.effectiveStartMs == D(100) * 1000)
        let none = plan(D(10), D(20), now: D(500))
        #expect(none.buckets.isEmpty && none.effectiveStartMs == D(100) * 1000 && none.effectiveEndMs == D(100) * 1000)
    }

    @Test func tilesCoverTheWindowExactlyOnce() {
        // Property check over many windows: contiguous, ordered, from effective start to end.
        var seed: UInt64 = 42
        func next(_ n: Int64) -> Int64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int64((seed >> 33) % UInt64(n))
        }
        for _ in 0..<500 {
            let now = D(200) + next(86400)
            let start = now - next(120 * 86400)
            let end = start + next(60 * 86400)
            let p = BucketPlan.plan(startMs: start * 1000, endMs: end * 1000, nowMs: now * 1000)
            var t = p.effectiveStartMs / 1000
            for b in p.buckets {
                #expect(b.start == t && b.start % b.resolution.seconds == 0)
                t = b.end
            }
            if !p.buckets.isEmpty { #expect(t * 1000 == p.effectiveEndMs) }
            #expect(p.buckets.count <= 59 + 23 + 61 + 23 + 59)
        }
    }

    @Test func overviewPeriodsDoNotOverlap() {
        let now = D(200, 13, 27, 45) * 1000 + 123
        for tf in ["24h", "7d", "30d", "90d"] {
            let length = MetricsQuery.timeframeMs(tf)!
            let (cur, prev) = MetricsQuery.overviewPlans(length: length, now: now)
            #expect(prev.effectiveEndMs == cur.effectiveStartMs, "\(tf)")
            #expect(Set(cur.buckets).isDisjoint(with: prev.buckets), "\(tf)")
        }
        // 90 days back: minute and hour buckets have expired at the start, so both periods are in days.
        let (cur, prev) = MetricsQuery.overviewPlans(length: 90 * 86_400_000, now: now)
        #expect(cur.resolution == .day && cur.effectiveStartMs == D(110) * 1000)
        #expect(prev.effectiveStartMs == D(20) * 1000 && prev.buckets == days(D(20), 90))
        #expect(MetricsQuery.timeframeMs("1y") == nil)
    }
}
