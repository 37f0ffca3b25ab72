import ArgumentParser
import InsightsAlerts

/// Alert evaluation and webhook delivery options of `insights worker`, `run` (and, for the
/// target check at rule creation, `serve`); docs/alerts.md.
struct AlertOptions: ParsableArguments {
    @Flag(help: "Let alert webhooks call loopback, private, link-local and other non-public addresses (refused by default).")
    var webhookAllowPrivate = false

    @Option(help: "How long one webhook attempt may take, in milliseconds.")
    var webhookTimeoutMs: Int = 10_000

    @Option(help: "The first webhook retry waits this long (ms); each next one twice as long, at most 5 minutes.")
    var webhookRetryMs: Int = 10_000

    @Option(help: "A notification not delivered this many seconds after its first attempt is given up.")
    var webhookGiveUpS: Int = 3600

    func validate() throws {
        guard (100...60_000).contains(webhookTimeoutMs) else { throw ValidationError("--webhook-timeout-ms must be between 100 and 60000") }
        guard (100...300_000).contains(webhookRetryMs) else { throw ValidationError("--webhook-retry-ms must be between 100 and 300000") }
        guard (1...86_400).contains(webhookGiveUpS) else { throw ValidationError("--webhook-give-up-s must be between 1 and 86400") }
    }

    var policy: WebhookTargetPolicy { WebhookTargetPolicy(allowPrivate: webhookAllowPrivate) }

    var configuration: AlertConfiguration {
        var c = AlertConfiguration()
        c.targets = policy
        c.attemptTimeout = .milliseconds(webhookTimeoutMs)
        c.leaseMs = Int64(max(60_000, 3 * webhookTimeoutMs))
        c.retryBaseMs = Int64(webhookRetryMs)
        c.retryMaxMs = max(Int64(webhookRetryMs), 300_000)
        c.giveUpMs = Int64(webhookGiveUpS) * 1000
        return c
    }
}
