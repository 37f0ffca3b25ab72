#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import InsightsModel
import RedisClient

extension MetricsQuery {
    /// Every agent id in `ins:agents`, sorted.
    public func agents() async throws -> [String] {
        let reply = try await client.send("SMEMBERS", key: AgentKeys.agents).get()
        return (reply.array ?? []).compactMap(\.string).sorted()
    }

    /// A session's events in time order, each once. They are wherever the session's life put them
    /// (docs/worker.md): a compacted value `jz:`, finalized records `jf:`, open records `j:`; the
    /// three are read in one round trip and merged. Without an agent, every agent is checked with one
    /// pipelined EXISTS (the first in sorted order that has it wins). nil if no journey is found.
    public func journey(sessionID: String, agent: String? = nil) async throws -> Journey? {
        let owner: String
        if let agent {
            owner = agent
        } else {
            let all = try await agents()
            if all.isEmpty { return nil }
            let replies = try await client.pipeline(all.map { a in
                let k = AgentKeys(a)
                return RedisCommand("EXISTS", keys: [k.compactJourney(sessionID), k.finalJourney(sessionID), k.journey(sessionID)])
            })
            guard let i = try replies.firstIndex(where: { (try $0.get().int ?? 0) > 0 }) else { return nil }
            owner = all[i]
        }
        let keys = AgentKeys(owner)
        let replies = try await client.pipeline([
            RedisCommand("GET", key: keys.compactJourney(sessionID)), RedisCommand("GET", key: keys.finalJourney(sessionID)),
            RedisCommand("GET", key: keys.journey(sessionID)),
        ])
        var pieces: [[JourneyRecord]] = []
        do {
            if let z = try replies[0].get().bytes { pieces.append(try CompactJourney.decode(z).events) }
            for reply in replies.dropFirst() {
                if let raw = try reply.get().bytes { pieces.append(try JourneyRecord.decodeAll(raw)) }
            }
        } catch let e as CompactJourney.DecodingError {
            throw QueryError.badReply(e.description)
        } catch let e as JourneyRecord.DecodingError {
            throw QueryError.badReply(e.description)
        }
        // Equal times in event-id order (as the journey sorted set before issue 13 did).
        let records = CompactJourney.merge(pieces).map { ($0, $0.eventID ?? "") }
            .sorted { $0.0.timestampMs != $1.0.timestampMs ? $0.0.timestampMs < $1.0.timestampMs : $0.1 < $1.1 }
            .map(\.0)
        if records.isEmpty { return nil }
        let events = records.map { r -> JourneyEvent in
            let data = r.data.isEmpty ? JSONValue.object([:]) : ((try? JSONValue.parse(Data(r.data))) ?? .object([:]))
            return JourneyEvent(timestamp: ISO8601.format(ms: r.timestampMs), type: r.type.rawValue, data: data,
                                eventID: r.eventID, intent: data["intent"]?.stringValue, responseTimeMs: r.responseTimeMs)
        }
        return Journey(sessionID: sessionID, agentID: owner, journey: events)
    }
}
