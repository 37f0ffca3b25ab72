import Foundation
import InsightsModel
import InsightsTestSupport
@testable import InsightsWorker
import RedisClient
import Testing

/// `Worker.lag` (`/api/v1/status`, `GET /metrics`) against a private redis-server, by hand.
@Suite("Worker lag")
struct WorkerLagTests {
    let server: TestRedisServer
    let client: RedisClient

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 2)
    }

    /// `Worker.lag` pipelines agents in chunks (`lagChunk`): 600 agents over three chunks, agent i
    /// with i % 4 entries, agents i % 5 == 0 with a group that read one of them (pending 1); no
    /// reply is paired with the wrong agent.
    @Test func lagOfManyAgentsAcrossPipelineChunks() async throws {
        var expected: [String: StreamLag] = [:]
        var total = StreamLag()
        var commands: [RedisCommand] = []
        for i in 0..<600 {
            let agent = String(format: "lag%03d", i), key = AgentKeys(agent).stream
            commands.append(RedisCommand("SADD", key: AgentKeys.agents, agent))
            for n in 0..<(i % 4) { commands.append(RedisCommand("XADD", key: key, "*", "s", "x", "r", "\(n)")) }
            var l = StreamLag(lag: i % 4, pending: 0)
            if i % 5 == 0 {
                commands.append(RedisCommand("XGROUP", "CREATE", key: key, "workers", "0", "MKSTREAM"))
                if i % 4 > 0 {
                    commands.append(RedisCommand("XREADGROUP", ["GROUP", "workers", "c", "COUNT", "1", "STREAMS", key, ">"]))
                    l = StreamLag(lag: i % 4 - 1, pending: 1)
                }
            }
            expected[agent] = l
            total.lag += l.lag
            total.pending += l.pending
        }
        _ = try await client.pipeline(commands)
        #expect(600 > 2 * Worker.lagChunk)
        let report = try await Worker.lag(client: client, group: "workers")
        #expect(report.perAgent == expected)
        #expect(report.total == total)
        // By hand: 150 agents each with 0, 1, 2, 3 entries = 900; of the 120 with a group (i % 5 == 0),
        // the 30 with i % 20 == 0 have no entry, the other 90 read one each.
        #expect(total == StreamLag(lag: 810, pending: 90))
    }
}
