import Metrics

/// The alert engine's own metrics (swift-metrics; `GET /metrics` of a front in the same process,
/// docs/operations.md).
enum AlertMetrics {
    static let fired = Counter(label: "insights_alerts_total", dimensions: [("transition", "fired")])
    static let resolved = Counter(label: "insights_alerts_total", dimensions: [("transition", "resolved")])
    /// Webhook attempts by outcome: `failed` (given up or a forbidden target) are the webhook failures.
    static let deliveries: [String: Counter] = Dictionary(uniqueKeysWithValues: ["delivered", "retry", "failed", "dropped"].map {
        ($0, Counter(label: "insights_webhook_attempts_total", dimensions: [("outcome", $0)]))
    })

    static func recordTransition(fired: Bool) { (fired ? self.fired : resolved).increment() }
    static func recordAttempt(_ outcome: String) { deliveries[outcome]?.increment() }
}
