import ArgumentParser
import Foundation
import InsightsModel
import InsightsWorker
import Logging
import RedisClient

/// `insights migrate`: converts data of the storage format before issue 13 in place
/// (docs/keys.md, *Earlier format*). Run with ingest and workers stopped; safe to run again.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Convert a Redis holding the storage format before issue 13 (stop ingest and workers first)."
    )

    @Option(help: "Redis URL (redis://[user:pass@]host:port[,host:port…][/db] or unix:///path; several host:port = seeds of a Redis Cluster). Env: INSIGHTS_REDIS_URL.")
    var redisURL: String = ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(help: "The worker group whose acknowledged entries are dropped and pending ones converted.")
    var group: String = "workers"

    @Option(help: "Days journeys and session state are kept after their last event (as given to the workers).")
    var sessionRetentionDays: Int = 35

    func validate() throws {
        guard (2...3650).contains(sessionRetentionDays) else { throw ValidationError("--session-retention-days must be between 2 and 3650") }
        guard IdentifierRule.isValid(group) else { throw ValidationError("--group: 1 to \(IdentifierRule.maxLength) of \(IdentifierRule.alphabet)") }
    }

    func run() async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), poolSize: 1)
        let migration = Migration(client: client, retention: Retention(session: sessionRetentionDays * 86400), group: group)
        let report = try await migration.run()
        print("migrated: \(report)")
    }
}
