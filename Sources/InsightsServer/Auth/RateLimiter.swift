import Synchronization

/// Per-key token buckets for ingest, in events. In-process: each front instance limits on its own.
///
/// A batch is admitted or refused as a whole, before anything is written. A batch larger than the
/// bucket is admitted only when the bucket is full, and leaves it in debt, so the long-run rate holds.
public final class RateLimiter: Sendable {
    public enum Decision: Sendable, Equatable {
        case admitted
        /// Refused: try again in this many seconds (≥ 1).
        case refused(retryAfter: Int)
    }

    struct Bucket {
        var tokens: Double
        var last: Double
    }

    private let buckets = Mutex<[Int: Bucket]>([:])
    private let clock: @Sendable () -> Double

    /// A limiter on the monotonic clock (seconds since it was made).
    public init() {
        let origin = ContinuousClock.now
        clock = {
            let d = ContinuousClock.now - origin
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
    }

    /// A limiter on a given clock (seconds, never decreasing): tests use a manual one.
    public init(clock: @escaping @Sendable () -> Double) {
        self.clock = clock
    }

    /// The limiter's current time (s).
    public func now() -> Double { clock() }

    /// Takes `cost` events from bucket `id` (refilled at `rate` events/s up to `burst`) at time `now` (s).
    public func admit(_ id: Int, cost: Int, rate: Double, burst: Double, now: Double) -> Decision {
        guard cost > 0, rate > 0 else { return .admitted }
        let capacity = max(1, burst)
        return buckets.withLock { all in
            var b = all[id] ?? Bucket(tokens: capacity, last: now)
            b.tokens = min(capacity, b.tokens + max(0, now - b.last) * rate)
            b.last = max(b.last, now)
            let c = Double(cost)
            if c <= b.tokens || b.tokens >= capacity {
                b.tokens -= c
                all[id] = b
                return .admitted
            }
            all[id] = b
            let needed = min(c, capacity) - b.tokens
            let wait = (needed / rate).rounded(.up)
            return .refused(retryAfter: max(1, wait >= Double(Int32.max) ? Int(Int32.max) : Int(wait)))
        }
    }
}
