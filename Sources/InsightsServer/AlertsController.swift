#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import InsightsAlerts
import InsightsModel

/// A rule as answered: its definition, its evaluation state, and (on creation only) its secret.
struct RuleResponse: Encodable {
    var rule: AlertRule
    var state: String
    var firingSince: String?
    var lastWindowEnd: String?
    var secret: String?

    init(_ s: StoredRule, showSecret: Bool = false) {
        rule = s.rule
        state = s.state
        firingSince = s.firingSince.map { ISO8601.format(ms: $0) }
        lastWindowEnd = s.lastWindowEnd.map { ISO8601.format(ms: $0) }
        secret = showSecret ? s.secret : nil
    }

    enum CodingKeys: String, CodingKey {
        case state, secret
        case firingSince = "firing_since"
        case lastWindowEnd = "last_window_end"
    }

    func encode(to encoder: any Encoder) throws {
        try rule.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(firingSince, forKey: .firingSince)
        try c.encode(lastWindowEnd, forKey: .lastWindowEnd)
        try c.encodeIfPresent(secret, forKey: .secret)
    }
}

struct RulesResponse: Encodable { var rules: [RuleResponse] }
struct AlertsResponse: Encodable { var alerts: [AlertRecord] }
struct DeliveriesResponse: Encodable { var deliveries: [DeliveryAttempt] }

/// `/api/v1/alerts…`: alert rules (admin scope), alerts and delivery attempts (docs/alerts.md).
/// Evaluation and delivery run in the workers (``AlertEngine``), never in the front.
struct AlertsController<Context: RequestContext>: Sendable {
    let store: AlertStore
    let targets: WebhookTargetPolicy
    static var maxBodyBytes: Int { 16 * 1024 }
    static var maxListed: Int { 500 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("alerts/rules") { req, _ in try await create(req) }
        group.get("alerts/rules") { req, _ in
            let agent = try params(req).optionalAgentID()
            let rules = try await store.rules(agents: agent.map { [$0] }).filter { Principal.allows($0.rule.agentID) }
            return JSON.response(RulesResponse(rules: rules.map { RuleResponse($0) }))
        }
        group.get("alerts/rules/{id}") { _, context in
            JSON.response(RuleResponse(try await visibleRule(context)))
        }
        group.delete("alerts/rules/{id}") { _, context in
            let rule = try await visibleRule(context)
            _ = try await store.delete(rule.rule.id)
            return Response(status: .noContent)
        }
        group.get("alerts") { req, _ in
            let p = params(req)
            let state = p.string("state")
            guard state == nil || state == "firing" || state == "resolved" else {
                throw APIError.badRequest("invalid parameter state", detail: "state must be firing or resolved (got \"\(state ?? "")\")")
            }
            let limit = try Self.limit(p)
            let agents: [String]
            if let a = try p.optionalAgentID() {
                agents = [a]
            } else {
                agents = Set(try await store.index().map(\.agent)).filter(Principal.allows).sorted()
            }
            return JSON.response(AlertsResponse(alerts: try await store.alerts(agents: agents, state: state, limit: limit)))
        }
        group.get("alerts/deliveries") { req, _ in
            let p = params(req)
            let limit = try Self.limit(p)
            let ruleID = p.string("rule_id")
            if let ruleID, !AlertRule.isValidID(ruleID) {
                throw APIError.badRequest("invalid parameter rule_id", detail: "a rule id is 16 lowercase hex digits")
            }
            var agent = try p.optionalAgentID()
            if agent == nil, let ruleID {
                agent = try await store.rule(ruleID)?.rule.agentID
                guard agent != nil else {
                    throw APIError(.notFound, "rule not found", detail: "no rule \(ruleID) (for a deleted rule's deliveries, give its agent_id)")
                }
            }
            guard let agent else { throw APIError.badRequest("missing parameter rule_id", detail: "give rule_id or agent_id") }
            try Principal.checkAgents([agent])
            return JSON.response(DeliveriesResponse(deliveries: try await store.deliveries(agent: agent, ruleID: ruleID, limit: limit)))
        }
    }

    func params(_ req: Request) -> QueryParameters {
        QueryParameters(request: req, now: EventClock.nowMs(), defaultWindowMs: 0)
    }

    static func limit(_ p: QueryParameters) throws -> Int {
        guard let text = p.string("limit") else { return 100 }
        guard let n = Int(text), (1...maxListed).contains(n) else {
            throw APIError.badRequest("invalid parameter limit", detail: "limit must be an integer from 1 to \(maxListed) (got \"\(text.prefix(40))\")")
        }
        return n
    }

    /// The rule named by the path, 404 if there is none or the key may not see its agent (a
    /// foreign tenant's rule is indistinguishable from a missing one).
    func visibleRule(_ context: Context) async throws -> StoredRule {
        let id = context.parameters.get("id") ?? ""
        guard let rule = try await store.rule(id), Principal.allows(rule.rule.agentID) else {
            throw APIError(.notFound, "rule not found", detail: "no alert rule with id \(id.prefix(40))")
        }
        return rule
    }

    func create(_ request: Request) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > Self.maxBodyBytes {
            throw APIError(.contentTooLarge, "request body too large", detail: "a rule may be at most \(Self.maxBodyBytes) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body too large", detail: "a rule may be at most \(Self.maxBodyBytes) bytes")
        }
        let rule: AlertRule
        do throws(AlertRuleError) {
            rule = try AlertRule.parse(Data(buffer.readableBytesView), id: AlertRule.newID(),
                                       createdAt: ISO8601.format(ms: EventClock.nowMs()), targets: targets)
        } catch {
            throw APIError.badRequest(error.field.map { "invalid field \($0)" } ?? "invalid rule", detail: error.description)
        }
        try Principal.checkAgents([rule.agentID])
        let secret = AlertRule.newSecret()
        do throws(AlertStoreError) {
            try await store.create(rule, secret: secret)
        } catch {
            switch error {
            case .tooManyRules(let agent, let max):
                throw APIError(.conflict, "too many rules", detail: "agent \(agent) has \(max) rules already (at most \(max)); delete one first")
            case .redis(let e): throw e
            }
        }
        let stored = StoredRule(rule: rule, state: "ok", lastWindowEnd: nil, firingSince: nil, secret: secret)
        var h = HTTPFields()
        h[.location] = "/api/v1/alerts/rules/\(rule.id)"
        return JSON.response(RuleResponse(stored, showSecret: true), status: .created, headers: h)
    }
}
