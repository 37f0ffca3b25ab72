import Hummingbird
import InsightsAlerts
import InsightsModel
import InsightsQuery

/// `/api/v1/analytics/...`: the seed's metrics, answered from bucket hashes and outcome counters.
struct AnalyticsController<Context: RequestContext>: Sendable {
    let query: MetricsQuery
    let defaultWindowMs: Int64

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("conversations/metrics") { req, _ in
            let p = params(req), (s, e) = try p.window()
            return JSON.response(try await query.conversationMetrics(agent: try p.agentID(), start: s, end: e, now: p.now,
                                                                     filter: try p.breakdownFilter()))
        }
        group.get("conversations/timeseries") { req, _ in
            let p = params(req)
            let agent = try p.agentID(), (s, e) = try p.window(), interval = try p.interval()
            return JSON.response(try await query.timeseries(agent: agent, start: s, end: e, interval: interval))
        }
        group.get("nlu/metrics") { req, _ in
            let p = params(req), (s, e) = try p.window()
            return JSON.response(try await query.nluMetrics(agent: try p.agentID(), start: s, end: e, now: p.now,
                                                            filter: try p.breakdownFilter()))
        }
        group.get("users/journey/{session_id}") { req, context in
            let p = params(req)
            guard let sid = context.parameters.get("session_id"), !sid.isEmpty else {
                throw APIError.badRequest("missing session_id")
            }
            try QueryParameters.checkID(sid, parameter: "session_id")
            // agent_id, if given, was checked against the key by AuthMiddleware. Without it, a key
            // limited to some agents looks only in their journeys: another tenant's is never found.
            var found: Journey?
            if let agent = try p.optionalAgentID() {
                found = try await query.journey(sessionID: sid, agent: agent)
            } else if let allowed = Principal.allowedAgents {
                for agent in allowed.sorted() where found == nil {
                    found = try await query.journey(sessionID: sid, agent: agent)
                }
            } else {
                found = try await query.journey(sessionID: sid, agent: nil)
            }
            guard let j = found else {
                throw APIError(.notFound, "session not found", detail: "no journey for session \(sid)")
            }
            return JSON.response(j)
        }
        group.get("users/drop-off") { req, _ in
            let p = params(req), (s, e) = try p.window()
            return JSON.response(try await query.dropOff(agent: try p.agentID(), start: s, end: e, now: p.now))
        }
        group.get("business/automation-rate") { req, _ in
            let p = params(req), (s, e) = try p.window()
            return JSON.response(try await query.automationRate(agent: try p.agentID(), start: s, end: e, now: p.now))
        }
        group.get("business/cost-savings") { req, _ in
            let p = params(req)
            let agent = try p.agentID(), (s, e) = try p.window(), cost = try p.costPerInteraction()
            return JSON.response(try await query.costSavings(agent: agent, start: s, end: e, costPerInteraction: cost, now: p.now))
        }
        group.get("quality/metrics") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req)
            let q = try await query.quality(agent: try p.agentID(), start: s, end: e, now: p.now)
            guard csv else { return JSON.response(q) }
            var rows: [[String]] = [
                ["feedback_count", String(q.feedbackCount)], ["ratings", String(q.ratings)], ["avg_rating", CSV.number(q.avgRating)],
                ["csat", CSV.number(q.csat)], ["thumbs_up", String(q.thumbsUp)], ["thumbs_down", String(q.thumbsDown)],
                ["thumbs_up_rate", CSV.number(q.thumbsUpRate)], ["negative_rate", CSV.number(q.negativeRate)],
            ]
            for (k, v) in q.sentiment.sorted(by: { $0.key < $1.key }) { rows.append(["sentiment." + k, String(v)]) }
            return CSV.response(header: ["metric", "value"], rows: rows, filename: "quality")
        }
        group.get("workflows/metrics") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req)
            let w = try await query.workflows(agent: try p.agentID(), start: s, end: e, now: p.now)
            guard csv else { return JSON.response(w) }
            let rows = w.workflows.sorted(by: { $0.key < $1.key }).map { name, x in
                [CSV.text(name), String(x.started), String(x.completed), String(x.failed), CSV.number(x.completionRate), CSV.number(x.avgDurationMs)]
            }
            return CSV.response(header: ["workflow", "started", "completed", "failed", "completion_rate", "avg_duration_ms"], rows: rows,
                                filename: "workflows")
        }
        group.get("breakdown") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req)
            guard let name = p.string("dimension"), let dimension = Dimension(name: name) else {
                throw APIError.badRequest("invalid parameter dimension",
                                          detail: "dimension must be channel, platform or location (got \"\((p.string("dimension") ?? "").prefix(40))\")")
            }
            let x = try await query.breakdown(agent: try p.agentID(), dimension: dimension, start: s, end: e, now: p.now)
            return csv ? CSV.breakdown(x) : JSON.response(x)
        }
        group.get("system/metrics") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req)
            let x = try await query.system(agent: try p.agentID(), start: s, end: e, now: p.now)
            return csv ? CSV.system(x) : JSON.response(x)
        }
        group.get("nlu/intents") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req), m = try p.confidenceThreshold()
            let x = try await query.intents(agent: try p.agentID(), start: s, end: e, thresholdBins: m, now: p.now)
            return csv ? CSV.intents(x) : JSON.response(x)
        }
        group.get("users/paths") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req)
            let depth = Int(try p.number("depth", default: 3, in: 1...Double(MetricsQuery.maxPathDepth), integer: true))
            let limit = Int(try p.number("limit", default: 20, in: 1...100, integer: true))
            let x = try await query.paths(agent: try p.agentID(), start: s, end: e, depth: depth, limit: limit, now: p.now)
            return csv ? CSV.paths(x) : JSON.response(x)
        }
        group.get("users/funnel") { req, _ in
            let p = params(req), (s, e) = try p.window()
            let csv = try CSV.wanted(req), steps = try p.funnelSteps()
            let x = try await query.funnel(agent: try p.agentID(), start: s, end: e, steps: steps, now: p.now)
            return csv ? CSV.funnel(x) : JSON.response(x)
        }
        group.get("live") { req, _ in
            let p = params(req)
            let agent = try p.agentID()
            let active = try p.number("active_window_s", default: 300, in: 1...3600, integer: true)
            let stuck = try p.number("stuck_after_s", default: 30, in: 1...3600, integer: true)
            return JSON.response(try await query.live(agent: agent, now: p.now, activeWindowMs: Int64(active) * 1000,
                                                      stuckAfterMs: Int64(stuck) * 1000))
        }
        group.get("anomalies") { req, _ in
            let p = params(req)
            let agent = try p.agentID()
            let end = try p.date("end_date") ?? p.now
            let start = try p.date("start_date") ?? (end - 86_400_000)
            guard start < end else { throw APIError.badRequest("invalid window", detail: "start_date must be before end_date") }
            let resolution: Resolution
            switch p.string("interval") {
            case nil: resolution = end - start <= AnomalyScan.maxSpanMs(.minute) ? .minute : .hour
            case "minute": resolution = .minute
            case "hour": resolution = .hour
            case let other?:
                throw APIError.badRequest("invalid parameter interval", detail: "interval must be minute or hour (got \"\(other.prefix(40))\")")
            }
            guard end - start <= AnomalyScan.maxSpanMs(resolution) else {
                throw APIError.badRequest("too many points", detail: "an anomaly scan covers at most \(resolution == .minute ? "6 hours by minute" : "30 days by hour")")
            }
            let sensitivity = try p.number("sensitivity", default: AlertRule.defaultSensitivity, in: 0.1...100)
            let minCount = Int(try p.number("min_count", default: 20, in: 1...1_000_000_000, integer: true))
            return JSON.response(try await AnomalyScan(query: query).scan(agent: agent, start: start, end: end, resolution: resolution,
                                                                          sensitivity: sensitivity, minCount: minCount))
        }
        group.get("dashboard/overview") { req, _ in
            let p = params(req)
            let agent = try p.agentID(), tf = try p.timeframe(), cost = try p.costPerInteraction()
            return JSON.response(try await query.overview(agent: agent, timeframe: tf, costPerInteraction: cost, now: p.now,
                                                          filter: try p.breakdownFilter()))
        }
    }

    func params(_ req: Request) -> QueryParameters {
        QueryParameters(request: req, now: EventClock.nowMs(), defaultWindowMs: defaultWindowMs)
    }
}
