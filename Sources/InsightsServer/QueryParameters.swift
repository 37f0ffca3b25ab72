import Hummingbird
import InsightsModel
import InsightsQuery

/// Reading and checking the analytics endpoints' query parameters (400 on anything wrong).
struct QueryParameters {
    let request: Request
    let now: Int64
    let defaultWindowMs: Int64

    func string(_ name: String) -> String? {
        guard let v = request.uri.queryParameters.get(name), !v.isEmpty else { return nil }
        return v
    }

    /// `agent_id`, required and checked against the id rule.
    func agentID() throws -> String {
        guard let a = try optionalAgentID() else {
            throw APIError.badRequest("missing parameter agent_id", detail: "agent_id is required")
        }
        return a
    }

    /// `agent_id` if given, checked against the id rule.
    func optionalAgentID() throws -> String? {
        guard let a = string("agent_id") else { return nil }
        try Self.checkID(a, parameter: "agent_id")
        return a
    }

    /// 400 naming `parameter` unless `value` follows ``IdentifierRule`` (the rule ingest applies):
    /// no agent or session with another id can exist, and the id goes into Redis key names.
    static func checkID(_ value: String, parameter: String) throws {
        do throws(EventValidationError) {
            try IdentifierRule.check(value, field: parameter)
        } catch {
            throw APIError.badRequest("invalid parameter \(parameter)", detail: error.description)
        }
    }

    func date(_ name: String) throws -> Int64? {
        guard let text = string(name) else { return nil }
        guard let ms = ISO8601.parse(text) else {
            throw APIError.badRequest("invalid parameter \(name)", detail: "\(name) must be an ISO-8601 date or date-time (got \"\(text)\")")
        }
        return ms
    }

    /// `start_date`/`end_date`: `end_date` defaults to now, `start_date` to 30 days before the end.
    func window() throws -> (start: Int64, end: Int64) {
        let s = try date("start_date"), e = try date("end_date")
        let end = e ?? now
        let start = s ?? (end - defaultWindowMs)
        guard start < end else {
            throw APIError.badRequest("invalid window", detail: "start_date must be before end_date")
        }
        return (start, end)
    }

    func timeframe() throws -> String {
        let t = string("timeframe") ?? "30d"
        guard MetricsQuery.timeframeMs(t) != nil else {
            throw APIError.badRequest("invalid parameter timeframe", detail: "timeframe must be 24h, 7d, 30d or 90d (got \"\(t)\")")
        }
        return t
    }

    func interval() throws -> Resolution {
        let t = string("interval") ?? "hour"
        guard let r = Resolution(rawValue: t) else {
            throw APIError.badRequest("invalid parameter interval", detail: "interval must be minute, hour or day (got \"\(t)\")")
        }
        return r
    }

    /// A number parameter in `range` (an integer if `integer`), `default` when absent; else 400 naming it.
    func number(_ name: String, default value: Double, in range: ClosedRange<Double>, integer: Bool = false) throws -> Double {
        guard let text = string(name) else { return value }
        guard let v = Double(text), v.isFinite, range.contains(v), !integer || v == v.rounded() else {
            let what = integer ? "an integer" : "a number"
            throw APIError.badRequest("invalid parameter \(name)",
                                      detail: "\(name) must be \(what) from \(APIKey.number(range.lowerBound)) to \(APIKey.number(range.upperBound)) (got \"\(text.prefix(40))\")")
        }
        return v
    }

    /// `threshold` of `nlu/intents`: a multiple of 0.05 in (0, 1], default 0.7 (the seed's); as
    /// the number m of 0.05 steps (the confidence bins below it, ``EventCounters/confidenceBin(_:)``).
    func confidenceThreshold() throws -> Int {
        guard let text = string("threshold") else { return 14 }
        let bins = Double(EventCounters.confidenceBins)
        guard let v = Double(text), v.isFinite, v > 0, v <= 1, abs(v * bins - (v * bins).rounded()) < 1e-9 else {
            throw APIError.badRequest("invalid parameter threshold",
                                      detail: "threshold must be a multiple of 0.05 from 0.05 to 1 (got \"\(text.prefix(40))\")")
        }
        return Int((v * bins).rounded())
    }

    /// `steps` of `users/funnel`: 2 to 6 intents, comma-separated, none equal to the one before.
    func funnelSteps() throws -> [String] {
        guard let text = string("steps") else {
            throw APIError.badRequest("missing parameter steps", detail: "steps is required: 2 to 6 intents, comma-separated")
        }
        let steps = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        let max = MetricsQuery.maxFunnelSteps
        guard (2...max).contains(steps.count) else {
            throw APIError.badRequest("invalid parameter steps", detail: "steps must name 2 to \(max) intents (got \(steps.count))")
        }
        for (i, step) in steps.enumerated() {
            do throws(EventValidationError) {
                try FieldRules.checkText(step, field: "steps[\(i)]", maxLength: EventLimits.maxIntentLength, allowEmpty: false)
            } catch {
                throw APIError.badRequest("invalid parameter steps", detail: error.description)
            }
            if i > 0 && step == steps[i - 1] {
                throw APIError.badRequest("invalid parameter steps",
                                          detail: "steps[\(i)] repeats the step before it (an intent path collapses repeats)")
            }
        }
        return steps
    }

    /// `channel=`, `platform=` or `location=` (at most one): a value of at most 64 characters
    /// without control characters, or `unknown` (events without one).
    func breakdownFilter() throws -> BreakdownFilter? {
        let given = Dimension.allCases.compactMap { d in string(d.name).map { (d, $0) } }
        guard let (dimension, value) = given.first else { return nil }
        guard given.count == 1 else {
            throw APIError.badRequest("invalid filter", detail: "filter by one of channel, platform, location at a time (got \(given.map(\.0.name).joined(separator: ", ")))")
        }
        do throws(EventValidationError) {
            try FieldRules.checkText(value, field: dimension.name, maxLength: AnalyticsEvent.maxCounterNameLength, allowEmpty: false)
        } catch {
            throw APIError.badRequest("invalid parameter \(dimension.name)", detail: error.description)
        }
        return BreakdownFilter(dimension, value)
    }

    static let maxCostPerInteraction = 1_000_000.0

    func costPerInteraction() throws -> Double {
        guard let t = string("cost_per_interaction") else { return 5.0 }
        // The upper bound keeps cost_savings (automated sessions × cost) finite: 7.5e307 made it
        // infinite, which JSON cannot encode (a 500 found by schemathesis, e2e/test_openapi.py).
        guard let v = Double(t), v.isFinite, v >= 0, v <= Self.maxCostPerInteraction else {
            throw APIError.badRequest("invalid parameter cost_per_interaction",
                                      detail: "cost_per_interaction must be a number from 0 to 1000000 (got \"\(t)\")")
        }
        return v
    }
}
