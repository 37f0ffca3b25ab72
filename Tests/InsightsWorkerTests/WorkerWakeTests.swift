import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
@testable import InsightsWorker
import RedisClient
import Testing

/// How a running worker comes to read a new agent (docs/worker.md, *Many agents*).
@Suite("Worker wake-ups")
struct WorkerWakeTests {
    let server: TestRedisServer
    let client: RedisClient
    let ingestor: EventIngestor

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 2)
        ingestor = try EventIngestor(client: client)
    }

    /// An agent that appears in `ins:agents` after the worker's first pass, with no wake-up the
    /// worker sees (deleted here; a failed wake-up pipeline, or a wake-up stream on another
    /// primary written before this worker placed its cursors, loses it the same way): read once
    /// `ins:agents` is re-read, not at the next background cycle 600 s later.
    @Test func anAgentWithoutAWakeUpIsReadAtTheNextAgentRefresh() async throws {
        let w = try Worker(client: client, configuration: WorkerConfiguration(consumerName: "w", agentRefreshInterval: .milliseconds(200)))
        #expect(w.configuration.fullScanInterval == .seconds(600))
        #expect(try await w.processOnce() == 0)  // cursors placed, ins:agents read (empty), the first cycle begun empty
        let t = EventClock.nowMs() - 10_000
        let events = (1...3).map { AnalyticsEvent(eventID: "e\($0)", eventType: .userMessage, timestampMs: t + Int64($0), sessionID: "s", agentID: "late") }
        #expect(try await ingestor.ingest(events).accepted == 3)
        #expect(try await client.send("DEL", key: AgentKeys("late").wakeStream).int == 1)
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await w.processOnce() == 3)
        #expect(try await StorageInspector(client: client).journey("late", "s") == ["e1", "e2", "e3"])
        #expect(try await w.lag().total.total == 0)
    }
}
