import Metrics

/// Events by source and outcome (swift-metrics; `insights_events_total{source, outcome}` at the
/// front's `GET /metrics`, docs/operations.md). A platform that links the tracker and bootstraps
/// its own metrics backend sees the `tracker` source there.
public enum IngestMetrics {
    public enum Source: String, Sendable, CaseIterable {
        /// The Swift tracker (a platform's process, or `insights simulate` / `run`'s demo).
        case tracker
        /// `POST /api/v1/events`.
        case http
        /// Segment's API (`/v1/batch`, …).
        case segment
        /// OTLP/HTTP traces (`/v1/traces`); its `rejected` counts spans.
        case otlp
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case accepted, duplicate, rejected
    }

    static let counters: [String: Counter] = {
        var out: [String: Counter] = [:]
        for s in Source.allCases {
            for o in Outcome.allCases {
                out[s.rawValue + o.rawValue] = Counter(label: "insights_events_total", dimensions: [("source", s.rawValue), ("outcome", o.rawValue)])
            }
        }
        return out
    }()

    public static func record(_ source: Source, accepted: Int = 0, duplicates: Int = 0, rejected: Int = 0) {
        if accepted > 0 { counters[source.rawValue + Outcome.accepted.rawValue]?.increment(by: accepted) }
        if duplicates > 0 { counters[source.rawValue + Outcome.duplicate.rawValue]?.increment(by: duplicates) }
        if rejected > 0 { counters[source.rawValue + Outcome.rejected.rawValue]?.increment(by: rejected) }
    }
}
