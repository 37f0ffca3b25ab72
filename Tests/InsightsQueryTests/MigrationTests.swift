import Foundation
import InsightsModel
import InsightsQuery
import InsightsTestSupport
import InsightsTracker
@testable import InsightsWorker
import RedisClient
import Testing

/// `insights migrate` (docs/keys.md, *Earlier format*): a Redis written by the scripts before
/// issue 13 (kept in `Legacy/`, copied from commit 3d33ff4), caught mid-flight — entries applied,
/// entries delivered but not applied, entries never delivered, sessions finalized and open — is
/// migrated, drained by today's workers, and must then answer every query exactly as a Redis fed
/// the same events through today's pipeline only.
@Suite("Migration")
struct MigrationTests {
    static let timeoutMs: Int64 = 600_000
    let nowMs = EventClock.nowMs()

    /// 3 agents × 14 sessions, 15 min apart, ~12 h and ~30 h back: every event type, intents
    /// with confidences, response times, channels, payloads; a third end, some escalate.
    var events: [AnalyticsEvent] {
        var out: [AnalyticsEvent] = []
        let base = (nowMs / 60_000 - 14 * 60) * 60_000
        let intents = ["book_flight", "cancel", "refund", "fallback", "greeting"]
        for (a, agent) in ["acme", "globex", "initech"].enumerated() {
            for s in 0..<14 {
                let sid = "\(agent)-s\(s)"
                let start = base - (s % 5 == 4 ? 18 * 3_600_000 : 0) + Int64(s) * 900_000 + Int64(a) * 7_000
                var t = start
                func add(_ type: EventType, data: [String: JSONValue] = [:], rt: Int? = nil, conf: Double? = nil) {
                    out.append(AnalyticsEvent(eventID: "\(sid)-e\(out.count)", eventType: type, timestampMs: t, sessionID: sid,
                                              userID: "u\(s % 4)", agentID: agent, data: data, channel: ["web", "slack", "sms"][s % 3],
                                              responseTimeMs: rt, confidence: conf))
                    t += Int64(500 + (s * 137 + out.count * 53) % 3500)
                }
                add(.conversationStart)
                for turn in 0..<(1 + (s + a) % 4) {
                    add(.userMessage, data: ["text": .string("message \(turn)")])
                    let intent = intents[(s + turn + a) % intents.count]
                    add(.intentClassified, data: ["intent": .string(intent)], conf: 0.4 + Double((s * 3 + turn) % 6) / 10)
                    if turn == 1 { add(.entityExtracted, data: ["entity": .string("date"), "value": .string("tomorrow")]) }
                    if (s + turn) % 3 == 0 {
                        add(.workflowStarted, data: ["workflow": .string("wf\(turn)")])
                        add((s + turn) % 2 == 0 ? .workflowCompleted : .workflowFailed, data: ["workflow": .string("wf\(turn)")])
                    }
                    if s % 4 == 1 { add(.apiCall, data: ["endpoint": .string("/orders")], rt: 40 + s) }
                    if s % 7 == 3 && turn == 0 { add(.error, data: ["message": .string("timeout")]) }
                    add(.botResponse, data: s % 6 == 5 && turn == 0 ? ["escalated_to_human": .bool(true)] : [:], rt: 80 + 37 * ((s + turn) % 9))
                }
                if s % 5 == 2 { add(.userFeedback, data: ["rating": .number(Double(1 + s % 5))]) }
                if s % 3 == 0 { add(.conversationEnd) }
            }
        }
        return out
    }

    /// The events of each agent in the order ingest receives them (sessions one after another).
    func byAgent(_ list: [AnalyticsEvent]) -> [String: [AnalyticsEvent]] { Dictionary(grouping: list) { $0.agentID ?? "" } }

    @Test func migratedRedisAnswersLikeAFreshOne() async throws {
        // In time order, as platforms send them: a session cut by the stop is the latest one, not yet due.
        let all = events.sorted { $0.timestampMs < $1.timestampMs }
        let resent = all.enumerated().filter { $0.offset % 9 == 0 }.map(\.element)  // after migration: duplicates

        // Reference: today's pipeline only.
        let fresh = try TestRedisServer()
        let freshClient = RedisClient(configuration: fresh.configuration(), poolSize: 2)
        let ingestor = try EventIngestor(client: freshClient)
        #expect(try await ingestor.ingest(all).accepted == all.count)
        #expect(try await ingestor.ingest(resent).duplicates == resent.count)
        try await drain(freshClient)

        // Legacy: the earlier scripts, stopped in the middle of the work.
        let old = try TestRedisServer()
        let oldClient = RedisClient(configuration: old.configuration(), poolSize: 2)
        let legacy = try LegacyPipeline(client: oldClient)
        for (agent, list) in byAgent(all) {
            #expect(try await legacy.ingest(agent, list) == list.count)
            #expect(try await legacy.ingest(agent, Array(list.prefix(5))) == 0)  // duplicates
            // Deliver 70 % of the stream; apply the first 40 % of it; the rest stays pending.
            let delivered = try await legacy.read(agent, count: list.count * 7 / 10)
            try await legacy.apply(agent, Array(delivered.prefix(list.count * 4 / 10)))
            #expect(try await legacy.sweep(agent) > 0)  // earlier sessions finalized as dropped
        }
        let before = try await StorageInspector(client: oldClient).keyKinds()
        #expect(before["sess"] ?? 0 > 0 && before["journey"] ?? 0 > 0 && before["b"] ?? 0 > 0 && before["seen"] ?? 0 > 0)
        await #expect(throws: LegacyDataError.self) { try await Worker.checkStorage(client: oldClient) }

        let report = try await Migration(client: oldClient).run()
        #expect(report.agents == 3 && report.compacted > 0 && report.sessions > report.compacted)
        // Every entry not applied (pending or never delivered) is converted; applied ones are dropped.
        #expect(report.streamEntries == byAgent(all).values.map { $0.count - $0.count * 4 / 10 }.reduce(0, +))
        // The group stands after the earlier entries: /api/v1/status reports the converted ones as still to read.
        let lag = try await Worker.lag(client: oldClient, group: "workers").total
        #expect(lag.lag == report.streamEntries && lag.pending == 0)
        let after = try await StorageInspector(client: oldClient).keyKinds()
        for kind in ["sess", "sf", "journey", "seen", "b"] { #expect(after[kind] == nil, "\(kind) keys left after migrate") }
        try await Worker.checkStorage(client: oldClient)  // no longer refuses
        // A second run finds nothing to convert.
        #expect(try await Migration(client: oldClient).run().sessions == 0)

        let newIngestor = try EventIngestor(client: oldClient)
        #expect(try await newIngestor.ingest(resent).duplicates == resent.count)
        try await drain(oldClient)

        // Every answer alike.
        let freshQuery = MetricsQuery(client: freshClient), oldQuery = MetricsQuery(client: oldClient)
        #expect(try await oldQuery.agents() == freshQuery.agents())
        let start = nowMs - 2 * 86_400_000
        for agent in ["acme", "globex", "initech"] {
            for (s, e) in [(start, nowMs), (nowMs - 6 * 3_600_000, nowMs), (start, nowMs - 20 * 3_600_000)] {
                #expect(try await oldQuery.conversationMetrics(agent: agent, start: s, end: e, now: nowMs)
                    == freshQuery.conversationMetrics(agent: agent, start: s, end: e, now: nowMs))
                #expect(try await oldQuery.nluMetrics(agent: agent, start: s, end: e, now: nowMs)
                    == freshQuery.nluMetrics(agent: agent, start: s, end: e, now: nowMs))
                #expect(try await oldQuery.dropOff(agent: agent, start: s, end: e, now: nowMs)
                    == freshQuery.dropOff(agent: agent, start: s, end: e, now: nowMs))
                #expect(try await oldQuery.automationRate(agent: agent, start: s, end: e, now: nowMs)
                    == freshQuery.automationRate(agent: agent, start: s, end: e, now: nowMs))
                #expect(try await oldQuery.costSavings(agent: agent, start: s, end: e, now: nowMs)
                    == freshQuery.costSavings(agent: agent, start: s, end: e, now: nowMs))
            }
            for timeframe in ["24h", "7d", "30d", "90d"] {
                #expect(try await oldQuery.overview(agent: agent, timeframe: timeframe, now: nowMs)
                    == freshQuery.overview(agent: agent, timeframe: timeframe, now: nowMs))
            }
            for (interval, from) in [(Resolution.minute, nowMs - 20 * 3_600_000), (.hour, start), (.day, start)] {
                #expect(try await oldQuery.timeseries(agent: agent, start: from, end: nowMs, interval: interval)
                    == freshQuery.timeseries(agent: agent, start: from, end: nowMs, interval: interval))
            }
            let m = try await freshQuery.conversationMetrics(agent: agent, start: start, end: nowMs, now: nowMs)
            #expect(m.totalEvents == byAgent(all)[agent]?.count && m.totalConversations == 14)
        }
        for sid in Set(all.map(\.sessionID)) {
            let j = try #require(try await oldQuery.journey(sessionID: sid))
            #expect(j == (try await freshQuery.journey(sessionID: sid)))
            #expect(j.journey.map(\.eventID) == all.filter { $0.sessionID == sid }.map(\.eventID))
        }
    }

    /// Today's worker until the streams are drained, then sweeps and compactions.
    func drain(_ client: RedisClient) async throws {
        let worker = try Worker(client: client, configuration: WorkerConfiguration(
            consumerName: "new1", sessionTimeoutMs: Self.timeoutMs, wallClockGraceMs: 0, claimIdleMs: 0, claimInterval: .zero,
            agentRefreshInterval: .zero, trimInterval: .seconds(3600)))
        var rounds = 0
        repeat {
            _ = try await worker.processOnce()
            rounds += 1
        } while try await worker.lag().total.total > 0 && rounds < 100
        let lag = try await worker.lag()
        #expect(lag.total.total == 0, "\(lag)")
        for agent in ["acme", "globex", "initech"] {
            _ = try await worker.sweep(agent)
            _ = try await worker.compact(agent)
        }
    }
}

/// The ingest, apply and sweep scripts of the storage format before issue 13, driven with the
/// argument layouts of their headers (as the Swift of commit 3d33ff4 did).
struct LegacyPipeline {
    let client: RedisClient
    let ingestScript, applyScript, sweepScript: RedisScript
    let retention = Retention.default

    init(client: RedisClient) throws {
        self.client = client
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Legacy").path
        ingestScript = try RedisScript(concatenating: ["common", "ingest"], directory: dir)
        applyScript = try RedisScript(concatenating: ["common", "worker_lib", "worker_apply"], directory: dir)
        sweepScript = try RedisScript(concatenating: ["common", "worker_lib", "worker_sweep"], directory: dir)
    }

    /// Returns how many were accepted (not duplicates).
    func ingest(_ agent: String, _ events: [AnalyticsEvent]) async throws -> Int {
        let prefix = "ins:{\(agent)}:"
        try await client.send("SADD", key: "ins:agents", agent)
        var accepted = 0
        for start in stride(from: 0, to: events.count, by: 50) {
            var c = ingestScript.call(keys: [prefix + "stream"])
            for v in [prefix, String(retention.minute), String(retention.hour), String(retention.day), String(retention.session)] { c.append(v) }
            let batch = events[start..<min(start + 50, events.count)]
            c.append(batch.count)
            for e in batch {
                c.append(e.eventID)
                c.append(e.timestampMs)
                c.append(e.eventType.rawValue)
                c.append(e.sessionID)
                c.append(bytes: e.jsonBytes())
                if let rt = e.responseTimeMs { c.append(rt) } else { c.append("") }
                if let conf = e.confidence { c.append("\(conf)") } else { c.append("") }
                c.append(e.eventType == .intentClassified ? (e.intent ?? "") : "")
                c.append(e.channel ?? "")
                c.append(e.escalatedToHuman ? "1" : "0")
            }
            c.append(0)
            accepted += try await client.evaluate(ingestScript, c).array?.first?.int ?? -1
        }
        return accepted
    }

    /// XREADGROUP as the earlier worker "old1" (group created at 0 as it did).
    func read(_ agent: String, count: Int) async throws -> [(id: String, j: [UInt8])] {
        let key = "ins:{\(agent)}:stream"
        do { try await client.send("XGROUP", "CREATE", key: key, "workers", "0", "MKSTREAM") } catch let e as RedisCommandError where e.code == "BUSYGROUP" {}
        let reply = try await client.send("XREADGROUP", "GROUP", "workers", "old1", "COUNT", String(count), "STREAMS", key, ">")
        return Worker.entries(reply.array?.first?.array?.last ?? .null).map { ($0.id, $0.field("j") ?? []) }
    }

    func apply(_ agent: String, _ entries: [(id: String, j: [UInt8])]) async throws {
        let prefix = "ins:{\(agent)}:"
        var call = applyScript.call(keys: [prefix + "stream"])
        for v in [prefix, "workers", String(retention.session), String(retention.minute), String(retention.hour), String(retention.day)] { call.append(v) }
        call.append(entries.count)
        for entry in entries {
            guard case .success(let ev) = EventDecoding.decode(json: Data(entry.j), now: EventClock.nowMs() + 86_400_000) else {
                Issue.record("legacy entry \(entry.id) does not decode")
                return
            }
            call.append("A")
            call.append(entry.id)
            call.append(ev.eventID)
            call.append(ev.sessionID)
            call.append(ev.timestampMs)
            call.append(ev.eventType.rawValue)
            call.append(ev.eventType == .intentClassified ? (ev.intent ?? "") : "")
            call.append(ev.escalatedToHuman ? "1" : "0")
            call.append(bytes: entry.j)
        }
        let r = try await client.evaluate(applyScript, call).array?.compactMap(\.int) ?? []
        #expect(r.first == entries.count, "legacy apply: \(r)")
    }

    /// Returns how many sessions were finalized as dropped (event time: the applied watermark).
    func sweep(_ agent: String) async throws -> Int {
        let prefix = "ins:{\(agent)}:"
        var call = sweepScript.call(keys: [prefix + "idle"])
        for v in [prefix, String(MigrationTests.timeoutMs), "1000", String(retention.session), String(retention.minute),
                  String(retention.hour), String(retention.day), ""] { call.append(v) }
        return try await client.evaluate(sweepScript, call).array?.first?.int ?? -1
    }
}
