import InsightsModel
import RedisClient

extension Worker {
    /// Entries not yet delivered to the group (`lag`) and pending, per agent and in total.
    public func lag() async throws -> LagReport {
        try await Self.lag(client: client, group: configuration.group)
    }

    /// ``lag()`` for any reader (the front's `/api/v1/status`, `GET /metrics`): needs no worker, and
    /// does not queue behind a worker actor's own calls. Two commands per agent (`XINFO GROUPS`,
    /// `XLEN`), pipelined ``lagChunk`` agents at a time: a few round trips for thousands of agents,
    /// not one per agent (Redis still does O(agents) work per call; docs/operations.md).
    public static func lag(client: RedisClient, group: String) async throws -> LagReport {
        var per: [String: StreamLag] = [:]
        var total = StreamLag()
        let agents = try await agentIDs(client)
        for first in stride(from: 0, to: agents.count, by: lagChunk) {
            let chunk = agents[first..<min(first + lagChunk, agents.count)]
            let replies = try await client.pipeline(chunk.flatMap { agent -> [RedisCommand] in
                let key = AgentKeys(agent).stream
                return [RedisCommand("XINFO", "GROUPS", key: key), RedisCommand("XLEN", key: key)]
            })
            for (j, agent) in chunk.enumerated() {
                let l = try await streamLag(client: client, stream: AgentKeys(agent).stream, group: group,
                                            groups: replies[2 * j], length: replies[2 * j + 1])
                per[agent] = l
                total.lag += l.lag
                total.pending += l.pending
            }
        }
        return LagReport(perAgent: per, total: total)
    }

    /// Agents per pipeline of ``lag(client:group:)``.
    static let lagChunk = 256

    /// One stream's lag and pending from its `XINFO GROUPS` and `XLEN` replies.
    private static func streamLag(client: RedisClient, stream key: String, group: String,
                                  groups: RESPValue, length: RESPValue) async throws -> StreamLag {
        var l = StreamLag()
        if case .array(let groups) = groups,
           let info = groups.compactMap({ $0.array }).first(where: { field($0, "name")?.string == group }) {
            l.pending = field(info, "pending")?.int ?? 0
            if let lag = field(info, "lag")?.int {
                // Undelivered entries are in the stream: never more than XLEN. Redis' lag is
                // entries-added − entries-read, and entries-read can come out short on a replica
                // promoted by a failover (chaos scenario 8 saw lag 1871 on an empty stream).
                l.lag = min(lag, length.int ?? lag)
            } else {
                // lag is null when Redis cannot compute it (e.g. after XDEL): count the entries after last-delivered-id.
                let last = field(info, "last-delivered-id")?.string ?? "0-0"
                l.lag = try await client.send("XRANGE", key: key, "(" + last, "+").array?.count ?? 0
            }
        } else {
            l.lag = length.int ?? 0  // no group yet: nothing delivered
        }
        return l
    }

    /// Refuses to run on a Redis that still holds data in the format before issue 13 (docs/keys.md,
    /// *Earlier format*): its stream entries would be dead-lettered. `insights migrate` converts it.
    /// On a Redis with no earlier data it records the format version (``AgentKeys/schema``), so the
    /// check (one SCAN of the `ins:` keys) runs once per Redis.
    public static func checkStorage(client: RedisClient) async throws {
        if try await client.send("GET", key: AgentKeys.schema).string == AgentKeys.schemaVersion { return }
        if let agent = try await legacyAgent(client: client) { throw LegacyDataError(agent: agent) }
        try await client.send("SET", key: AgentKeys.schema, AgentKeys.schemaVersion, "NX")
    }

    /// An agent with keys or stream entries in the earlier format, if there is one.
    static func legacyAgent(client: RedisClient) async throws -> String? {
        let kinds = ["sess", "sf", "journey", "seen", "b"]
        for key in try await client.scanKeys(matching: "ins:{*}:*") {
            guard let close = key.firstIndex(of: "}") else { continue }
            let agent = String(key[key.index(key.startIndex, offsetBy: 5)..<close])
            let rest = key[key.index(close, offsetBy: 2)...]
            let kind = rest.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if kinds.contains(kind) { return agent }
            if kind == "stream" {
                let first = try await client.send("XRANGE", key: key, "-", "+", "COUNT", "1")
                if first.array?.first?.array?.last?.array?.first?.string == "j" { return agent }
            }
        }
        return nil
    }
}

/// The Redis holds data in the format before issue 13; run `insights migrate` first.
public struct LegacyDataError: Error, Sendable, CustomStringConvertible {
    public let agent: String
    public var description: String {
        "agent '\(agent)' has data in the storage format before issue 13 (docs/keys.md, Earlier format): "
            + "stop the workers and ingest, run `insights migrate`, then start this version"
    }
}
