import Hummingbird
import Synchronization

/// Shares one computation of `GET /api/v1/analytics/dashboard/overview` among the dashboards
/// polling the same URL: a 200 answer is kept for `ttl` (default 1 s) per exact path + query,
/// and requests arriving while it is computed wait for it instead of computing it again.
///
/// Why: one overview reads ~150 bucket hashes (both periods, minute/hour/day tiling, ~0.6 ms of
/// Redis time); 100 pollers recomputing it on every request saturate Redis' one core long before
/// the HTTP front (`make bench`, bench/results/LATEST.md). Installed after `AuthMiddleware`, so
/// every request is authenticated and its `agent_id` checked before it can get a shared answer;
/// the answer depends only on the URL and the clock (docs/api.md: at most `ttl` old).
struct OverviewCacheMiddleware<Context: RequestContext>: RouterMiddleware {
    let path: String
    let ttl: Duration
    let store: OverviewCacheStore

    init(path: String = "/api/v1/analytics/dashboard/overview", ttl: Duration = .seconds(1)) {
        self.path = path
        self.ttl = ttl
        self.store = OverviewCacheStore()
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, request.uri.path == path else { return try await next(request, context) }
        let key = request.uri.description
        let clock = ContinuousClock()
        switch await store.lookup(key, now: clock.now) {
        case .hit(let cached):
            return cached.response()
        case .compute:
            break
        }
        // This request computes; any others for the same key wait in `lookup`.
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            store.finish(key, with: nil)
            throw error
        }
        guard response.status == .ok else {
            store.finish(key, with: nil)
            return response
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let cached = CachedResponse(status: response.status, headers: response.headers, body: collector.buffer,
                                    expires: clock.now + ttl)
        store.finish(key, with: cached)
        return cached.response()
    }
}

struct CachedResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
    let expires: ContinuousClock.Instant

    func response() -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

/// The cache entries and the requests waiting for one being computed, under a mutex.
final class OverviewCacheStore: Sendable {
    enum Lookup { case hit(CachedResponse), compute }

    private enum Entry {
        case fresh(CachedResponse)
        case computing([CheckedContinuation<CachedResponse?, Never>])
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Beyond this many keys, expired entries are dropped (bounded memory under many agents).
    private let maxEntries = 10_000

    /// A fresh answer, or `.compute` when the caller must compute it (and then call `finish`).
    /// A caller arriving while another computes waits; if that computation fails, it computes itself.
    func lookup(_ key: String, now: ContinuousClock.Instant) async -> Lookup {
        enum Step { case hit(CachedResponse), compute, wait }
        let step: Step = entries.withLock { e in
            switch e[key] {
            case .fresh(let c) where c.expires > now: return .hit(c)
            case .computing: return .wait
            default:
                if e.count >= maxEntries {
                    e = e.filter { if case .fresh(let c) = $0.value { return c.expires > now } else { return true } }
                }
                e[key] = .computing([])
                return .compute
            }
        }
        switch step {
        case .hit(let c): return .hit(c)
        case .compute: return .compute
        case .wait:
            let result: CachedResponse? = await withCheckedContinuation { cont in
                let immediate: CachedResponse?? = entries.withLock { e in
                    switch e[key] {
                    case .computing(var waiters):
                        waiters.append(cont)
                        e[key] = .computing(waiters)
                        return .none  // resumed by finish
                    case .fresh(let c):
                        return .some(c)
                    case nil:
                        return .some(nil)
                    }
                }
                if let value = immediate { cont.resume(returning: value) }
            }
            if let c = result { return .hit(c) }
            return .compute  // the computation failed: compute without sharing
        }
    }

    /// Stores the answer (nil: not cacheable) and wakes the waiters.
    func finish(_ key: String, with cached: CachedResponse?) {
        let waiters: [CheckedContinuation<CachedResponse?, Never>] = entries.withLock { e in
            guard case .computing(let w) = e[key] else { return [] }
            if let cached { e[key] = .fresh(cached) } else { e[key] = nil }
            return w
        }
        for w in waiters { w.resume(returning: cached) }
    }
}

/// Collects a response body written through `ResponseBody.write(_:)`. Used by one task only.
private final class BodyCollector: ResponseBodyWriter {
    var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var b = buffer
        self.buffer.writeBuffer(&b)
    }

    func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        for b in buffers { try await write(b) }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
