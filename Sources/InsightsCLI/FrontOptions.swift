import ArgumentParser
import Foundation
import InsightsModel
import InsightsServer
import Logging

/// Options of the HTTP front that `serve` and `run` share: the ingest routes' default agent
/// (docs/ingest.md) and the access log (docs/operations.md).
struct FrontOptions: ParsableArguments {
    @Option(help: "The agent of Segment messages and OTLP spans that name none when the API key is not limited to one agent. Env: INSIGHTS_DEFAULT_AGENT.")
    var defaultAgent: String?

    @Flag(help: "Do not log one line per request (label insights.access). Env: INSIGHTS_ACCESS_LOG=0.")
    var noAccessLog = false

    func validate() throws {
        if let a = resolvedDefaultAgent {
            do throws(EventValidationError) {
                try IdentifierRule.check(a, field: "--default-agent")
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    var resolvedDefaultAgent: String? {
        defaultAgent ?? ProcessInfo.processInfo.environment["INSIGHTS_DEFAULT_AGENT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var accessLog: Bool { !noAccessLog && ProcessInfo.processInfo.environment["INSIGHTS_ACCESS_LOG"] != "0" }

    /// The front's configuration from the options `serve` and `run` both take.
    func configuration(host: String, port: Int, apiKeys: APIKeyStore, replication: ReplicationOptions, alerts: AlertOptions) -> ServerConfiguration {
        var config = ServerConfiguration(host: host, port: port)
        config.apiKeys = apiKeys
        config.replicaAcks = replication.replicaAcksSetting
        config.webhookTargets = alerts.policy
        config.defaultAgent = resolvedDefaultAgent
        config.accessLogger = accessLog ? Logger(label: "insights.access") : nil
        return config
    }
}
