import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// Ingest on a Redis Cluster: many agents' batches in one pipeline, and `--replica-acks`
/// (docs/reliability.md, "Replication").
@Suite("Ingest on a Redis Cluster")
struct ClusterIngestTests {
    let cluster: TestRedisCluster
    let client: RedisClient

    init() throws {
        cluster = try TestRedisCluster()
        client = RedisClient(configuration: try cluster.configuration(), poolSize: 2)
    }

    func events(_ agent: String, _ range: Range<Int>) -> [AnalyticsEvent] {
        range.map {
            AnalyticsEvent(eventID: "\(agent)-e\($0)", eventType: .userMessage, timestampMs: EventClock.nowMs() - 1000,
                           sessionID: "s\($0 % 3)", agentID: agent)
        }
    }

    /// XLEN of a stream on one node (a replica answers reads after READONLY).
    func xlen(_ port: Int, _ key: String) async throws -> Int {
        try await TestRedisCluster.offPool {
            try TestRedisCluster.connect(port).pipeline([RedisCommand("READONLY"), RedisCommand("XLEN", key)]).last?.int ?? -1
        }
    }

    @Test func batchesOfManyAgentsLandOnTheirPrimaries() async throws {
        let ingestor = try EventIngestor(client: client, batchSize: 7)
        let agents = (0..<12).map { "tenant-\($0)" }
        let all = agents.flatMap { events($0, 0..<20) }.shuffled()
        #expect(try await ingestor.ingest(all) == IngestResult(accepted: 240, duplicates: 0))
        #expect(try await ingestor.ingest(all) == IngestResult(accepted: 0, duplicates: 240))
        var primaries = Set<Int>()
        for agent in agents {
            let key = AgentKeys(agent).stream
            let owner = try await cluster.owner(of: HashSlot(key: key))
            #expect(try await xlen(owner.port, key) == 20)
            primaries.insert(owner.port)
        }
        #expect(primaries.count == 3)
        #expect(Set(try await client.send("SMEMBERS", key: AgentKeys.agents).array?.compactMap(\.string) ?? []) == Set(agents))
    }

    @Test func replicaAcksHoldABatchUntilAReplicaHasIt() async throws {
        let agent = "durable"
        let key = AgentKeys(agent).stream
        let primary = try await cluster.owner(of: HashSlot(key: key))
        let replica = try await cluster.replica(of: primary)
        let ingestor = try EventIngestor(client: client, replicaAcks: ReplicaAcks(replicas: 1, timeoutMs: 300))
        #expect(try await ingestor.ingest(events(agent, 0..<10)) == IngestResult(accepted: 10, duplicates: 0))
        // Acknowledged means on the replica already: read it there at once.
        #expect(try await xlen(replica.port, key) == 10)

        // A replica that does not answer: the batch is written on the primary but not acknowledged.
        kill(replica.pid, SIGSTOP)
        await #expect(throws: ReplicationError.self) { try await ingestor.ingest(events(agent, 10..<15)) }
        kill(replica.pid, SIGCONT)
        // The retry is exact: the 5 events were stored once, and the retry waits for the replica.
        #expect(try await ingestor.ingest(events(agent, 10..<15)) == IngestResult(accepted: 0, duplicates: 5))
        #expect(try await xlen(replica.port, key) == 15)
        // Without replica acks nothing waits (a replica that is stopped does not matter).
        kill(replica.pid, SIGSTOP)
        defer { kill(replica.pid, SIGCONT) }
        let plain = try EventIngestor(client: client)
        #expect(try await plain.ingest(events(agent, 15..<20)) == IngestResult(accepted: 5, duplicates: 0))
    }

    /// MIGRATEs every key of the migrating slot (except `keeping`), as `redis-cli --cluster reshard` does.
    func migrateAll(_ migration: TestRedisCluster.Migration, keeping: Set<String> = []) async throws {
        let slot = String(migration.slot.rawValue)
        let keys = try await cluster.command(migration.source.port, "CLUSTER", "GETKEYSINSLOT", slot, "1000").array?.compactMap(\.string) ?? []
        for key in keys where !keeping.contains(key) { try await cluster.migrate(key, in: migration) }
    }

    /// Half the slot moved when the batch arrives: either the stream (the script's declared key) is
    /// still on the source and counters and sessions are on the target, or the other way round. The
    /// script may run neither on the source (it would miss keys half-way) nor, after ASK, on the
    /// target (keys not migrated yet would look absent there).
    @Test(arguments: [false, true])
    func ingestWaitsOutASlotMigrationAndWritesNothingHalfway(streamFirst: Bool) async throws {
        let agent = "moving"
        let keys = AgentKeys(agent)
        let slot = HashSlot(key: keys.stream)
        let ingestor = try EventIngestor(client: client)
        #expect(try await ingestor.ingest(events(agent, 0..<10)) == IngestResult(accepted: 10, duplicates: 0))
        let migration = try await cluster.beginMigration(of: slot)
        let source = migration.source, target = migration.target
        if streamFirst {
            try await cluster.migrate(keys.stream, in: migration)
        } else {
            try await migrateAll(migration, keeping: [keys.stream])
        }
        let late = Task { try await ingestor.ingest(events(agent, 10..<20)) }
        try await Task.sleep(for: .milliseconds(700))
        try await migrateAll(migration)
        try await cluster.finish(migration)
        // Once the slot is the target's, the waiting batch lands there, once.
        #expect(try await late.value == IngestResult(accepted: 10, duplicates: 0))
        #expect(try await cluster.command(source.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot.rawValue)).int == 0)
        #expect(try await xlen(target.port, keys.stream) == 20)
        let inspector = StorageInspector(client: client)
        let day = Int(Date().timeIntervalSince1970) / 86400
        #expect(try await inspector.dedupIDs(agent, day: day).count == 20)
        let dayStart = Int(EventClock.nowMs() / 1000 - 1) / 86400 * 86400
        #expect(try await inspector.counters(agent, "c:d:\(dayStart)")["events"] == 20)
        #expect(try await ingestor.ingest(events(agent, 0..<20)) == IngestResult(accepted: 0, duplicates: 20))
    }
}
