#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import InsightsModel
import InsightsQuery
import InsightsScripts
import InsightsTracker
import Logging
import RedisClient

/// How alerts are evaluated and delivered (docs/alerts.md; `insights worker --webhook-…`).
public struct AlertConfiguration: Sendable {
    /// A minute is evaluated this long after it ends, so that events a few seconds late count.
    public var lateMs: Int64 = 10_000
    /// Alerts kept per agent (the oldest are forgotten).
    public var historyCap = 500
    /// Delivery attempts kept per agent.
    public var deliveryLogCap = 1000
    /// One webhook attempt may take this long.
    public var attemptTimeout: Duration = .seconds(10)
    /// The first retry waits this long; each next one twice as long, at most ``retryMaxMs``.
    public var retryBaseMs: Int64 = 10_000
    public var retryMaxMs: Int64 = 300_000
    /// A notification not delivered this long after its first attempt is given up (`failed`).
    public var giveUpMs: Int64 = 3_600_000
    /// A leased delivery returns to the queue after this long (a sender that died); > attemptTimeout.
    public var leaseMs: Int64 = 60_000
    public var targets = WebhookTargetPolicy()
    /// Notifications this process sends at once (each on its own task: a slow receiver holds only its own).
    public var maxConcurrentDeliveries = 32
    /// How often the engine looks at the clock and the delivery queues.
    public var tick: Duration = .milliseconds(250)
    /// Evaluators wait a random 0…this many ms after a minute is due, so that usually one of them
    /// reads the counters and the others find the minute judged (exactness does not depend on it).
    public var jitterMs: Int = 1500
    /// A directory of Lua scripts instead of the embedded ones (``LuaScripts``).
    public var luaDirectory: String?

    public init(luaDirectory: String? = LuaScripts.directory()) {
        self.luaDirectory = luaDirectory
    }
}

/// What one evaluation of one rule did.
public struct EvaluationOutcome: Sendable, Equatable {
    public var ruleID: String
    public var agent: String
    /// `fired`, `resolved`, `same` (no transition), `skip` (too few events), `done` (judged already), `gone`.
    public var outcome: String
    public var value: Double?
    public var denominator: Int?
    public var score: Anomaly.Score?
}

/// The notification body (docs/alerts.md): its bytes are what the signature covers.
struct Notification: Encodable {
    var ruleID, name, agentID, metric, state: String
    var value: Double
    var threshold: Double?
    var windowStart, windowEnd, at: String
    var baseline: Double?
    var score: Double?

    enum CodingKeys: String, CodingKey {
        case name, metric, state, value, threshold, at, baseline, score
        case ruleID = "rule_id"
        case agentID = "agent_id"
        case windowStart = "window_start"
        case windowEnd = "window_end"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ruleID, forKey: .ruleID)
        try c.encode(name, forKey: .name)
        try c.encode(agentID, forKey: .agentID)
        try c.encode(metric, forKey: .metric)
        try c.encode(state, forKey: .state)
        try c.encode(value, forKey: .value)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(windowStart, forKey: .windowStart)
        try c.encode(windowEnd, forKey: .windowEnd)
        try c.encode(at, forKey: .at)
        try c.encodeIfPresent(baseline, forKey: .baseline)
        try c.encodeIfPresent(score, forKey: .score)
    }
}

/// Evaluates every rule once a minute and delivers the notifications; runs in every worker process.
/// Exactly-once comes from `lua/alerts.lua` (one atomic transition per rule and window end), not
/// from which process runs: any number of engines may run against one Redis.
public actor AlertEngine {
    public let client: RedisClient
    public let configuration: AlertConfiguration
    let query: MetricsQuery
    let store: AlertStore
    let script: RedisScript
    let sender: WebhookSender
    let logger: Logger
    /// The window end this engine last evaluated (ms).
    var lastWindowEnd: Int64 = 0
    /// Agent → when (uptime ms) its delivery queue should be looked at.
    var due: [String: Int64] = [:]
    var inFlight = 0

    /// Minutes of baseline before an anomaly rule's window (24 hours of minute counters).
    public static let baselineMinutes = 1440

    public init(client: RedisClient, configuration: AlertConfiguration, logger: Logger = Logger(label: "insights.alerts")) throws {
        self.client = client
        self.configuration = configuration
        self.query = MetricsQuery(client: client)
        self.store = AlertStore(client: client)
        self.script = try LuaScripts.script(["common", "alerts"], directory: configuration.luaDirectory)
        self.sender = WebhookSender(policy: configuration.targets, timeout: configuration.attemptTimeout)
        self.logger = logger
    }

    /// The end of the last minute to evaluate at `now` (ms): the minute boundary `lateMs` ago or earlier.
    public static func windowEnd(now: Int64, lateMs: Int64) -> Int64 { floorDiv(now - lateMs, 60_000) * 60_000 }

    static func uptimeMs() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }

    /// The Redis server's clock (ms): every evaluator judges the same minutes.
    func serverNowMs() async throws -> Int64 {
        let t = try await client.send("TIME").array ?? []
        guard t.count == 2, let s = t[0].string.flatMap({ Int64($0) }), let us = t[1].string.flatMap({ Int64($0) }) else {
            return EventClock.nowMs()
        }
        return s * 1000 + us / 1000
    }

    // MARK: Loop

    /// Evaluates and delivers until cancelled. Errors are logged and retried on the next tick.
    public func run() async {
        // Deliveries queued by a process that stopped: every agent with rules is looked at once.
        if let index = try? await store.index() {
            for (_, agent) in index { due[agent] = 0 }
        }
        // The server clock as an offset from this machine's, read again every 30 s (not every tick:
        // an idle engine costs Redis one HGETALL a minute and a TIME every 30 s).
        var offset: Int64 = 0, offsetRead: Int64?
        while !Task.isCancelled {
            do {
                if offsetRead.map({ Self.uptimeMs() - $0 > 30_000 }) ?? true {
                    offset = try await serverNowMs() - EventClock.nowMs()
                    offsetRead = Self.uptimeMs()
                }
                let end = Self.windowEnd(now: EventClock.nowMs() + offset, lateMs: configuration.lateMs)
                if end > lastWindowEnd {
                    if configuration.jitterMs > 0 { try await Task.sleep(for: .milliseconds(Int.random(in: 0...configuration.jitterMs))) }
                    _ = try await evaluate(windowEnd: end, at: EventClock.nowMs() + offset)
                    lastWindowEnd = end
                }
                try await deliverDue()
            } catch is CancellationError {
                break
            } catch {
                logger.error("alert pass failed: \(error)")
            }
            try? await Task.sleep(for: configuration.tick)
        }
    }

    // MARK: Evaluation

    /// Judges every rule for the window ending at `end` (ms), at server time `at` (ms).
    public func evaluate(windowEnd end: Int64, at: Int64) async throws -> [EvaluationOutcome] {
        var byAgent: [String: [String]] = [:]
        for (id, agent) in try await store.index() { byAgent[agent, default: []].append(id) }
        var out: [EvaluationOutcome] = []
        for (agent, ids) in byAgent.sorted(by: { $0.key < $1.key }) {
            out += try await evaluate(agent: agent, ruleIDs: ids, end: end, at: at)
        }
        return out
    }

    func evaluate(agent: String, ruleIDs: [String], end: Int64, at: Int64) async throws -> [EvaluationOutcome] {
        let keys = AgentKeys(agent)
        let replies = try await client.pipeline(ruleIDs.map { RedisCommand("HMGET", key: keys.alertRule($0), "def", "last") })
        var out: [EvaluationOutcome] = []
        var rules: [AlertRule] = []
        for (id, reply) in zip(ruleIDs, replies) {
            guard let f = try? reply.get().array, f.count == 2, let def = f[0].bytes,
                  let rule = try? JSONDecoder().decode(AlertRule.self, from: Data(def))
            else {
                out.append(EvaluationOutcome(ruleID: id, agent: agent, outcome: "gone"))
                continue
            }
            if let last = f[1].string.flatMap({ Int64($0) }), last >= end {
                out.append(EvaluationOutcome(ruleID: id, agent: agent, outcome: "done"))  // another evaluator judged it
                continue
            }
            rules.append(rule)
        }
        guard let span = rules.map({ $0.condition == .anomaly ? $0.windowMinutes + Self.baselineMinutes : $0.windowMinutes }).max() else {
            return out
        }
        // One MGET of the minutes every rule of the agent needs, oldest first: bucket i starts at end − (span − i) min.
        let endS = floorDiv(end, 1000)
        let counters = try await query.counters(agent: agent, buckets: (0..<span).map { Bucket(.minute, endS - Int64(span - $0) * 60) })
        func sums(_ range: Range<Int>) -> BucketSums {
            var s = BucketSums()
            for i in range { s.add(counters[i]) }
            return s
        }
        for rule in rules {
            let w = rule.windowMinutes
            let (value, denominator) = rule.metric.measure(sums(span - w..<span))
            var verdict = "skip"
            var score: Anomaly.Score?
            if denominator.map({ $0 >= rule.minCount }) ?? true {
                switch rule.condition {
                case .above: verdict = value > (rule.threshold ?? .infinity) ? "fire" : "ok"
                case .below: verdict = value < (rule.threshold ?? -.infinity) ? "fire" : "ok"
                case .anomaly:
                    var history: [Double] = []
                    for k in 1...(Self.baselineMinutes / w) {
                        let (v, d) = rule.metric.measure(sums(span - (k + 1) * w..<span - k * w))
                        if d.map({ $0 >= rule.minCount }) ?? true { history.append(v) }
                    }
                    let kind = rule.metric.kind
                    score = Anomaly.score(value, baseline: history) { Anomaly.noiseFloor(kind, median: $0, denominator: denominator) }
                    if let score { verdict = abs(score.score) > (rule.sensitivity ?? AlertRule.defaultSensitivity) ? "fire" : "ok" }
                }
            }
            let outcome = try await record(rule, verdict: verdict, value: value, score: score, end: end, at: at)
            out.append(EvaluationOutcome(ruleID: rule.id, agent: agent, outcome: outcome, value: value, denominator: denominator, score: score))
        }
        return out
    }

    /// The atomic transition of one (rule, window end) in `lua/alerts.lua`; returns its outcome.
    func record(_ rule: AlertRule, verdict: String, value: Double, score: Anomaly.Score?, end: Int64, at: Int64) async throws -> String {
        let start = ISO8601.format(ms: end - Int64(rule.windowMinutes) * 60_000), endText = ISO8601.format(ms: end)
        let atText = ISO8601.format(ms: at)
        let encoder = AlertStore.encoder()
        let record = AlertRecord(ruleID: rule.id, name: rule.name, agentID: rule.agentID, metric: rule.metric.description, state: "firing",
                                 value: value, threshold: rule.threshold, windowStart: start, windowEnd: endText, firedAt: atText,
                                 resolvedAt: nil, baseline: score?.baseline, score: score?.score)
        func body(_ state: String) throws -> [UInt8] {
            guard rule.webhookURL != nil else { return [] }
            return Array(try encoder.encode(Notification(
                ruleID: rule.id, name: rule.name, agentID: rule.agentID, metric: rule.metric.description, state: state, value: value,
                threshold: rule.threshold, windowStart: start, windowEnd: endText, at: atText, baseline: score?.baseline, score: score?.score)))
        }
        let keys = AgentKeys(rule.agentID)
        var call = script.call(keys: [keys.alertRule(rule.id)])
        call.append(keys.prefix)
        call.append("eval")
        call.append(rule.id)
        call.append(end)
        call.append(verdict)
        call.append(at)
        call.append(bytes: try encoder.encode(record))
        call.append(bytes: try body("firing"))
        call.append(bytes: try body("resolved"))
        call.append(configuration.historyCap)
        let reply = try await client.evaluate(script, call).array ?? []
        let outcome = reply.first?.string ?? "gone"
        if reply.count == 3, let next = reply[2].int, next >= 0 { schedule(rule.agentID, inMs: Int64(next)) }
        if outcome == "fired" || outcome == "resolved" {
            AlertMetrics.recordTransition(fired: outcome == "fired")
            logger.info("alert \(outcome)", metadata: ["rule": "\(rule.id)", "agent": "\(rule.agentID)", "metric": "\(rule.metric)", "value": "\(value)"])
        }
        return outcome
    }

    // MARK: Delivery

    func schedule(_ agent: String, inMs: Int64) {
        let at = Self.uptimeMs() + inMs
        due[agent] = min(due[agent] ?? .max, at)
    }

    /// Leases and starts sending every due notification (at most ``AlertConfiguration/maxConcurrentDeliveries``
    /// at once); returns the number started. Each is sent on its own task.
    @discardableResult
    public func deliverDue() async throws -> Int {
        var started = 0
        let now = Self.uptimeMs()
        for (agent, at) in due.sorted(by: { $0.value < $1.value }) where at <= now {
            let room = configuration.maxConcurrentDeliveries - inFlight
            guard room > 0 else { break }
            due[agent] = nil
            let keys = AgentKeys(agent)
            var call = script.call(keys: [keys.deliveryQueue])
            call.append(keys.prefix)
            call.append("lease")
            call.append(min(room, 16))
            call.append(configuration.leaseMs)
            let reply = try await client.evaluate(script, call).array ?? []
            if let next = reply.first?.int, next >= 0 { schedule(agent, inMs: Int64(next)) }
            var i = 1
            while i + 5 < reply.count {
                let d = LeasedDelivery(agent: agent, id: reply[i].string ?? "", lease: reply[i + 1].string ?? "",
                                       body: reply[i + 2].bytes ?? [], meta: reply[i + 3].string ?? "",
                                       def: reply[i + 4].bytes ?? [], secret: reply[i + 5].string ?? "")
                i += 6
                inFlight += 1
                started += 1
                Task { await self.deliver(d) }
            }
        }
        return started
    }

    struct LeasedDelivery: Sendable {
        var agent, id, lease: String
        var body: [UInt8]
        var meta: String
        var def: [UInt8]
        var secret: String
    }

    /// Notifications being sent by this process.
    public var deliveriesInFlight: Int { inFlight }

    func deliver(_ d: LeasedDelivery) async {
        defer { inFlight -= 1 }
        let parts = d.meta.split(separator: " ")
        let ruleID = parts.first.map(String.init) ?? ""
        let attempts = (parts.count > 1 ? Int(parts[1]) : nil) ?? 0
        let first = (parts.count > 2 ? Int64(parts[2]) : nil) ?? EventClock.nowMs()
        let rule = d.def.isEmpty ? nil : try? JSONDecoder().decode(AlertRule.self, from: Data(d.def))
        var outcome: String, error: String?, status: Int?, duration = 0, retryIn: Int64 = 0
        let url = rule?.webhookURL
        if rule == nil {
            outcome = "dropped"
            error = "the rule was deleted"
        } else if url == nil {
            outcome = "dropped"
            error = "the rule has no webhook_url"
        } else {
            let r = await sender.send(url: url!, body: d.body, secret: d.secret, deliveryID: d.id)
            status = r.status
            error = r.error
            duration = r.durationMs
            let now = EventClock.nowMs()
            if r.delivered {
                outcome = "delivered"
            } else if r.forbidden || now - first >= configuration.giveUpMs {
                outcome = "failed"
            } else {
                outcome = "retry"
                let backoff = configuration.retryBaseMs << Int64(min(attempts, 20))
                retryIn = max(0, min(backoff, configuration.retryMaxMs, first + configuration.giveUpMs - now))
            }
        }
        AlertMetrics.recordAttempt(outcome)
        let attempt = DeliveryAttempt(
            deliveryID: d.id, ruleID: ruleID, url: url, attempt: attempts + 1, at: ISO8601.format(ms: EventClock.nowMs()),
            statusCode: status, error: error, durationMs: duration, outcome: outcome,
            nextAttemptAt: outcome == "retry" ? ISO8601.format(ms: EventClock.nowMs() + retryIn) : nil)
        let keys = AgentKeys(d.agent)
        var call = script.call(keys: [keys.deliveryQueue])
        call.append(keys.prefix)
        call.append("done")
        call.append(d.id)
        call.append(d.lease)
        call.append(outcome)
        call.append(retryIn)
        call.append("\(ruleID) \(attempts + 1) \(first)")
        do {
            call.append(bytes: try AlertStore.encoder().encode(attempt))
            call.append(configuration.deliveryLogCap)
            let recorded = try await client.evaluate(script, call).int ?? 0
            if recorded == 0 {
                logger.warning("delivery lease lost before it was recorded", metadata: ["delivery": "\(d.id)"])
            } else if outcome == "retry" {
                schedule(d.agent, inMs: retryIn)
            }
            if outcome == "failed" || outcome == "retry" {
                logger.warning("webhook \(outcome)", metadata: ["delivery": "\(d.id)", "error": "\(error ?? "")"])
            }
        } catch {
            // Not recorded: the lease expires and the notification is sent again (receivers dedupe on X-Insights-Delivery).
            logger.error("cannot record a delivery attempt: \(error)", metadata: ["delivery": "\(d.id)"])
        }
    }
}
