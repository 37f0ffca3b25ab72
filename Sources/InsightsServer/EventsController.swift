#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import InsightsModel
import InsightsTracker
import RedisClient

/// One event of a batch that was not accepted.
struct RejectedEvent: Codable, Sendable, Equatable {
    var index: Int
    var error: String
}

/// The answer of `POST /api/v1/events`.
struct IngestResponse: Codable, Sendable, Equatable {
    var accepted: Int
    var duplicates: Int
    var rejected: [RejectedEvent]
}

/// `POST /api/v1/events`: ingest over HTTP for platforms not written in Swift.
struct EventsController<Context: RequestContext>: Sendable {
    let ingestor: EventIngestor
    let maxBodyBytes: Int
    let maxBatchEvents: Int

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("events") { req, _ in try await ingest(req) }
    }

    /// The request's body, at most `maxBodyBytes`: 413 past it, 408 if it is still arriving at the deadline.
    func body(_ request: Request) async throws -> ByteBuffer {
        // A declared length over the limit is refused before a byte of the body is read (a client that
        // waits for `100 Continue` gets the 413 at once; LingeringCloseHandler drains what others send).
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            throw Self.tooLarge(maxBodyBytes)
        }
        do {
            return try await request.body.collect(upTo: maxBodyBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw Self.tooLarge(maxBodyBytes)
        } catch let e as RequestReadTimeout {
            // RequestDeadlineHandler: the body was still arriving at the deadline; the connection closes after this answer.
            var h = HTTPFields()
            h[.connection] = "close"
            throw APIError(.requestTimeout, "request body timeout", detail: "\(e.description); send the whole body at once", headers: h)
        }
    }

    /// Writes validated events; Redis trouble becomes a 503 that claims nothing accepted.
    func store(_ valid: [AnalyticsEvent]) async throws -> IngestResult {
        do {
            return try await ingestor.ingest(valid)
        } catch let e as RedisConnectionError {
            // Nothing is claimed accepted; a retry is safe (the script drops event_ids already seen).
            throw APIError.redisUnavailable(e.message)
        } catch let e as ReplicationError {
            // Written to the primary, not confirmed by enough replicas: not acknowledged (a failover
            // could lose it). The client's retry is exact: events already stored count as duplicates.
            throw APIError.redisUnavailable(e.description)
        } catch let e as StreamFullError {
            // An agent's stream is at its cap (workers down or far behind): nothing is claimed
            // accepted; the client retries later and already-written events count as duplicates.
            throw APIError.streamFull(e.message)
        }
    }

    func ingest(_ request: Request) async throws -> Response {
        let buffer = try await body(request)
        let now = EventClock.nowMs()
        let results: [Result<AnalyticsEvent, EventValidationError>]
        do throws(BatchDecodingError) {
            results = try EventDecoding.decodeBatch(json: Data(buffer.readableBytesView), now: now, maxEvents: maxBatchEvents)
        } catch {
            switch error {
            case .malformedJSON(let d): throw APIError.badRequest("malformed JSON", detail: d)
            case .invalidShape(let d): throw APIError.badRequest("invalid batch", detail: d)
            case .tooManyEvents(let count, let max):
                throw APIError(.contentTooLarge, "too many events", detail: "the batch has \(count) events (at most \(max) per request)")
            }
        }
        var valid: [AnalyticsEvent] = []
        var rejected: [RejectedEvent] = []
        for (i, r) in results.enumerated() { Self.admit(r, index: i, now: now, valid: &valid, rejected: &rejected) }
        // API keys (docs/security.md): one event of an agent outside the key's list refuses the whole
        // batch (403), and the rate limit admits or refuses the whole batch (429); nothing is written.
        var agents = results.compactMap { (try? $0.get())?.agentID }
        if Principal.allowedAgents != nil, valid.count + rejected.count > agents.count {  // some event did not decode
            agents += Principal.agentIDs(inRawBatch: Data(buffer.readableBytesView))
        }
        try Principal.authorizeIngest(agents: agents, events: valid.count)
        if valid.isEmpty && !rejected.isEmpty {
            // Nothing to write: the whole request is the caller's error (a mixed batch is a 200 with `rejected`).
            IngestMetrics.record(.http, rejected: rejected.count)
            throw Self.nothingValid(rejected, noun: "event")
        }
        let result = try await store(valid)
        IngestMetrics.record(.http, accepted: result.accepted, duplicates: result.duplicates, rejected: rejected.count)
        return JSON.response(IngestResponse(accepted: result.accepted, duplicates: result.duplicates, rejected: rejected))
    }

    /// A decoded event that passes the ingest rules joins `valid`, anything else `rejected` with its reason.
    static func admit(_ decoded: Result<AnalyticsEvent, EventValidationError>, index: Int, now: Int64,
                      valid: inout [AnalyticsEvent], rejected: inout [RejectedEvent]) {
        switch decoded {
        case .success(let event):
            do throws(EventValidationError) {
                try event.validateForIngest(now: now)
                valid.append(event)
            } catch {
                rejected.append(RejectedEvent(index: index, error: error.description))
            }
        case .failure(let error):
            rejected.append(RejectedEvent(index: index, error: error.description))
        }
    }

    /// The 400 of a request in which nothing is valid, naming the first five problems.
    static func nothingValid(_ rejected: [RejectedEvent], noun: String) -> APIError {
        let shown = rejected.prefix(5).map { "\(noun) \($0.index): \($0.error)" }.joined(separator: "; ")
        let more = rejected.count > 5 ? "; and \(rejected.count - 5) more" : ""
        return APIError.badRequest(rejected.count == 1 ? "invalid \(noun)" : "no valid \(noun)s", detail: shown + more)
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "request body too large", detail: "the body may be at most \(limit) bytes")
    }
}
