import Foundation
import Hummingbird
import InsightsModel
import InsightsTracker

/// The answer of Segment's routes: `success` as Segment's API answers it (what the SDKs look at),
/// and what Insights made of the messages.
struct SegmentResponse: Codable, Sendable, Equatable {
    var success: Bool
    var accepted: Int
    var duplicates: Int
    /// identify, page, screen, group and alias messages: taken, carry no event.
    var ignored: Int
    var rejected: [RejectedEvent]
}

/// Segment's HTTP tracking API (docs/ingest.md, *Segment*): `POST /v1/batch` and the single-message
/// routes, so that Segment's SDKs (and RudderStack's, PostHog's) pointed at Insights work
/// unchanged. HTTP Basic auth with the write key as user name (an API key with the `ingest`
/// scope, when keys are configured: AuthMiddleware), gzip bodies, Segment's size limits.
struct SegmentController<Context: RequestContext>: Sendable {
    let events: EventsController<Context>
    /// `--default-agent`: the agent of messages that name none, when the key does not say.
    let defaultAgent: String?

    static var singleTypes: [String] { ["track", "identify", "page", "screen", "group", "alias"] }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("batch") { req, _ in try await ingest(req, impliedType: nil) }
        for type in Self.singleTypes {
            group.post(RouterPath(type)) { req, _ in try await ingest(req, impliedType: type) }
        }
    }

    func ingest(_ request: Request, impliedType: String?) async throws -> Response {
        let raw = try await events.body(request)
        let bytes = try Self.decoded(raw, encoding: request.headers[.contentEncoding])
        let root: JSONValue
        do throws(JSONParseError) {
            root = try JSONValue.parse(Data(bytes))
        } catch {
            throw APIError.badRequest("malformed JSON", detail: error.description)
        }
        guard case .object(let body) = root else { throw APIError.badRequest("invalid batch", detail: "the body must be a JSON object") }
        let messages: [JSONValue]
        if impliedType == nil {
            guard case .array(let batch)? = body["batch"] else {
                throw APIError.badRequest("invalid batch", detail: "expected an object with a \"batch\" array")
            }
            messages = batch
        } else {
            messages = [root]
        }
        let now = EventClock.nowMs()
        var context = SegmentMapping.Context(receivedAtMs: now, batchSentAt: body["sentAt"], defaultAgent: defaultAgent)
        if impliedType == nil, case .object(let c)? = body["context"] { context.batchContext = c }
        if let allowed = Principal.allowedAgents, allowed.count == 1 { context.keyAgent = allowed.first }

        var valid: [AnalyticsEvent] = [], rejected: [RejectedEvent] = [], ignored = 0, agents: [String] = []
        for (i, m) in messages.enumerated() {
            switch SegmentMapping.map(m, impliedType: impliedType, context: context) {
            case .ignored: ignored += 1
            case .rejected(let why): rejected.append(RejectedEvent(index: i, error: why))
            case .event(let object):
                if let a = object["agent_id"]?.stringValue { agents.append(a) }
                EventsController<Context>.admit(EventDecoding.decode(object: object, now: now), index: i, now: now, valid: &valid,
                                                rejected: &rejected)
            }
        }
        try Principal.authorizeIngest(agents: agents, events: valid.count)
        if valid.isEmpty && !rejected.isEmpty && ignored == 0 {
            IngestMetrics.record(.segment, rejected: rejected.count)
            throw EventsController<Context>.nothingValid(rejected, noun: "message")
        }
        let result = valid.isEmpty ? IngestResult(accepted: 0, duplicates: 0) : try await events.store(valid)
        IngestMetrics.record(.segment, accepted: result.accepted, duplicates: result.duplicates, rejected: rejected.count)
        return JSON.response(SegmentResponse(success: true, accepted: result.accepted, duplicates: result.duplicates, ignored: ignored,
                                             rejected: rejected))
    }

    /// The body's bytes, gunzipped when `Content-Encoding: gzip`; 400 past Segment's 500 KB (as
    /// Segment answers a batch too large), 415 for another encoding.
    static func decoded(_ raw: ByteBuffer, encoding: String?) throws -> [UInt8] {
        let limit = SegmentMapping.maxBatchBytes
        let bytes = try ContentEncoding.decode(raw, encoding: encoding, limit: limit, tooLarge: tooLarge(limit))
        if bytes.count > limit { throw tooLarge(limit) }
        return bytes
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError.badRequest("batch too large", detail: "a Segment batch may be at most \(limit / 1024) KB (Segment's limit)")
    }
}
