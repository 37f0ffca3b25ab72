import InsightsModel
import InsightsScripts
import RedisClient

/// What one ingest call did.
public struct IngestResult: Sendable, Equatable {
    /// Events written (new event_ids).
    public var accepted: Int
    /// Events dropped because their event_id was already seen within the dedupe window.
    public var duplicates: Int

    public init(accepted: Int = 0, duplicates: Int = 0) {
        self.accepted = accepted
        self.duplicates = duplicates
    }

    static func + (a: Self, b: Self) -> Self { .init(accepted: a.accepted + b.accepted, duplicates: a.duplicates + b.duplicates) }
}

/// The agent's stream already holds `cap` entries (unread, pending or not yet trimmed):
/// `lua/ingest.lua` refused the batch and wrote nothing. Retry later, when workers have
/// caught up and trimmed (the HTTP front answers 503 with Retry-After; the tracker keeps
/// the events and retries). The stream is never trimmed to make room: that would lose
/// entries no worker has read.
public struct StreamFullError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The script's error text (`STREAMFULL stream ins:{a}:stream holds N entries (cap C); ...`).
    public let message: String

    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// Writes validated events through `lua/ingest.lua`: one atomic call per batch of one
/// agent's events, all calls of a request pipelined in one round trip.
///
/// Shared by the tracker and the HTTP ingest endpoint. Safe to retry after any failure:
/// the script drops event_ids it has already seen.
public struct EventIngestor: Sendable {
    public let client: RedisClient
    public let script: RedisScript
    public let retention: Retention
    /// Events per script call.
    public let batchSize: Int
    /// The most entries one agent's stream may hold; a batch that would go past it is refused
    /// (``StreamFullError``), never trimmed. 0 = no cap. Default ``defaultStreamCap``.
    public let streamCap: Int
    /// Replicas that must hold a batch before it is acknowledged (`WAIT` after the batch, on the same
    /// connection); nil = acknowledged once the primary has it (docs/reliability.md, "Replication").
    public let replicaAcks: ReplicaAcks?
    private let knownAgents = AgentRegistry()
    private let woken = WakeRegistry()

    /// Wake-up streams keep about this many entries (`XADD … MAXLEN ~`): minutes of wake-ups, far
    /// more than a worker reads in a pass.
    public static let wakeStreamLength = 10_000

    /// 5 million entries: far above a healthy backlog (workers trim what they acknowledged),
    /// reached only when workers are down for a long time.
    public static let defaultStreamCap = 5_000_000

    /// Events per script call: 500. A call costs Redis a fixed part (counters, de-dup sets, the
    /// sessions of the batch) that more events share; at 500 it stays a few milliseconds.
    public static let defaultBatchSize = 500

    public init(client: RedisClient, luaDirectory: String? = LuaScripts.directory(), retention: Retention = .default, batchSize: Int = EventIngestor.defaultBatchSize,
                streamCap: Int = EventIngestor.defaultStreamCap, replicaAcks: ReplicaAcks? = nil) throws {
        self.client = client
        self.script = try LuaScripts.script(["common", "ingest"], directory: luaDirectory)
        self.retention = retention
        self.batchSize = max(1, batchSize)
        self.streamCap = max(0, streamCap)
        self.replicaAcks = replicaAcks
    }

    /// Ingests events (already validated, each with an agent id). Order within an agent is kept.
    /// - Throws: ``RedisConnectionError`` (nothing or part was written; retrying is safe),
    ///   ``StreamFullError`` if an agent's stream is at its cap (other batches of the call may
    ///   have been written; retrying later is safe), ``ReplicationError`` if ``replicaAcks`` are required
    ///   and fewer replicas confirmed (written to the primary only; retrying is safe),
    ///   ``RedisCommandError`` if the script refused a batch.
    public func ingest(_ events: [AnalyticsEvent]) async throws -> IngestResult {
        if events.isEmpty { return IngestResult() }
        var byAgent: [String: [AnalyticsEvent]] = [:]
        var agentOrder: [String] = []
        for e in events {
            let agent = e.agentID ?? ""
            if byAgent[agent] == nil { agentOrder.append(agent) }
            byAgent[agent, default: []].append(e)
        }
        var calls: [RedisCommand] = []
        for agent in agentOrder {
            let list = byAgent[agent]!
            for start in stride(from: 0, to: list.count, by: batchSize) {
                calls.append(command(agent: agent, events: list[start..<min(start + batchSize, list.count)]))
            }
        }
        let newAgents = knownAgents.unknown(agentOrder)
        if !newAgents.isEmpty {
            // ins:agents is in another cluster slot than the agents' keys, so it is not in the script.
            try await client.send(RedisCommand("SADD", keys: [AgentKeys.agents], newAgents))
            knownAgents.insert(newAgents)
        }
        // Wake-up entries for the workers (docs/worker.md, *Many agents*), in the same pipeline: on a
        // cluster they go to their own nodes in parallel. A worker that reads one before the batch
        // lands still finds the entries: it keeps reading the agent for its active window.
        let wakes = woken.due(agentOrder, nowMs: EventClock.nowMs()).map { agent in
            RedisCommand("XADD", key: AgentKeys(agent).wakeStream, "MAXLEN", "~", String(Self.wakeStreamLength), "*", "a", agent)
        }
        var total = IngestResult()
        var replies = try await client.evaluate(script, calls + wakes, replicaAcks: replicaAcks)
        replies.removeLast(wakes.count)  // a failed wake-up only delays the entries until a worker's background visit
        // A full stream is reported only after every reply was read (the other batches were written).
        for reply in replies {
            if case .error(let message) = reply, message.hasPrefix("STREAMFULL ") { throw StreamFullError(message: message) }
        }
        for reply in replies {
            guard let pair = try reply.get().array, pair.count == 2, let a = pair[0].int, let d = pair[1].int else {
                throw RedisCommandError(message: "ERR unexpected reply from ingest.lua: \(reply)")
            }
            total = total + IngestResult(accepted: a, duplicates: d)
        }
        return total
    }

    /// The `EVALSHA` call for one agent's batch (argument layout: the header of lua/ingest.lua).
    /// Everything the script and the workers need is derived here, once, from the validated events:
    /// the stored event ids, the journey records the stream entries carry, each event's bucket
    /// counters (``EventCounters``) and their sum per minute.
    public func command(agent: String, events: ArraySlice<AnalyticsEvent>) -> RedisCommand {
        let keys = AgentKeys(agent)
        var c = script.call(keys: [keys.stream])
        c.append(keys.prefix)
        c.append(retention.minute)
        c.append(retention.hour)
        c.append(retention.day)
        c.append(retention.session)
        c.append(events.count)
        // Sums per minute ("<minute>") and, for events with dimension values, per hour, dimension
        // and raw value ("<hour>\u{1F}<dim>\u{1F}<value>", slice fields only: slices have no minute
        // buckets; the script maps the value to its capped name).
        var perMinute: [String: [String: Int]] = [:]
        var contributions: [[UInt8]] = []
        var dims: [String] = []
        contributions.reserveCapacity(events.count)
        dims.reserveCapacity(events.count)
        for e in events {
            let counters = EventCounters.contribution(of: e)
            let minute = String(EventCounters.minute(e.timestampMs))
            var sums = perMinute[minute] ?? [:]
            for (field, delta) in counters { sums[field, default: 0] += delta }
            perMinute[minute] = sums
            // Stored under their codes (``CounterCode``): the script adds fields as it is given them.
            var map = counters.map { (key: Array(CounterCode.code($0.field).utf8), value: MessagePack.Value.int(Int64($0.delta))) }
            let d = EventCounters.dims(of: e)
            dims.append(d)
            if !d.isEmpty {
                let slice = counters.filter { EventCounters.isSliceField($0.field) }
                let hour = String(EventCounters.hour(e.timestampMs))
                for dim in Dimension.allCases {
                    guard let v = dim.value(of: e) else { continue }
                    let key = hour + "\u{1F}" + dim.rawValue + "\u{1F}" + v
                    var ss = perMinute[key] ?? [:]
                    for (field, delta) in slice { ss[field, default: 0] += delta }
                    perMinute[key] = ss
                }
                // The slice share, taken back from the event's slices if it is a duplicate.
                map.append((key: Array("@".utf8), value: .map(slice.map { (Array(CounterCode.code($0.field).utf8), .int(Int64($0.delta))) })))
            }
            contributions.append(MessagePack.encode(.map(map)))
        }
        c.append(bytes: MessagePack.encode(.map(perMinute.map { key, sums in
            (Array(key.utf8), .map(sums.map { (Array(CounterCode.code($0.key).utf8), .int(Int64($0.value))) }))
        })))
        var record: [UInt8] = []
        for (i, (e, contribution)) in zip(events, contributions).enumerated() {
            let r = JourneyRecord(event: e)
            c.append(bytes: r.idField)
            c.append(e.sessionID)
            c.append(e.timestampMs)
            c.append(String(e.eventType.code))
            record.removeAll(keepingCapacity: true)
            r.encode(into: &record)
            c.append(bytes: record)
            c.append(bytes: contribution)
            c.append(dims[i])
        }
        c.append(streamCap)  // optional last argument of lua/ingest.lua
        return c
    }
}
