import ArgumentParser
import Foundation
import InsightsModel

/// Options of the ingest routes that `serve` and `run` share (docs/ingest.md).
struct IngestOptions: ParsableArguments {
    @Option(help: "The agent of Segment messages that name none (properties.agent_id) when the API key is not limited to one agent. Env: INSIGHTS_DEFAULT_AGENT.")
    var defaultAgent: String?

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
}
