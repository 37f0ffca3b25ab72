import Foundation
import InsightsModel
import InsightsTestSupport
import InsightsTracker
import RedisClient
import Testing

/// The per-agent stream cap (lua/ingest.lua's optional last argument) and the tracker's retries
/// when Redis refuses for a passing reason (chaos suite scenarios 4 and 6, docs/reliability.md).
@Suite("Stream cap and transient refusals")
struct StreamCapTests {
    let server: TestRedisServer
    let client: RedisClient

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(commandTimeout: 5), poolSize: 4)
    }

    func event(_ id: String, session: String = "s1") -> AnalyticsEvent {
        AnalyticsEvent(eventID: id, eventType: .userMessage, timestampMs: EventClock.nowMs() - 1000, sessionID: session, agentID: "capped")
    }

    func events(_ range: Range<Int>) -> [AnalyticsEvent] { range.map { event("e\($0)") } }

    func xlen() async throws -> Int { try await client.send("XLEN", key: "ins:{capped}:stream").int ?? -1 }

    func dayEvents() async throws -> Int {
        let day = Int(Date().timeIntervalSince1970 - 1) / 86400 * 86400
        return try await StorageInspector(client: client).counters("capped", "c:d:\(day)")["events"] ?? 0
    }

    /// Ids in today's de-dup set.
    func seen() async throws -> Int {
        try await StorageInspector(client: client).dedupIDs("capped", day: Int(Date().timeIntervalSince1970) / 86400).count
    }

    @Test func ingestPastTheCapIsRefusedAndWritesNothing() async throws {
        let ingestor = try EventIngestor(client: client, streamCap: 10)
        #expect(try await ingestor.ingest(events(0..<8)) == IngestResult(accepted: 8, duplicates: 0))
        // 8 + 5 > 10: the whole batch is refused, nothing of it is written.
        await #expect(throws: StreamFullError.self) { try await ingestor.ingest(events(8..<13)) }
        #expect(try await xlen() == 8)
        #expect(try await dayEvents() == 8)
        #expect(try await seen() == 8)
        // A batch of already-seen ids adds nothing, so it is answered even when the stream is full.
        #expect(try await ingestor.ingest(events(0..<8)) == IngestResult(accepted: 0, duplicates: 8))
        // 8 + 2 = 10 fits exactly.
        #expect(try await ingestor.ingest(events(8..<10)) == IngestResult(accepted: 2, duplicates: 0))
        await #expect(throws: StreamFullError.self) { try await ingestor.ingest(events(10..<11)) }
        // Workers trim what they acknowledged (here: the 6 oldest entries); then ingest resumes.
        let entries = try await client.send("XRANGE", key: "ins:{capped}:stream", "-", "+").array ?? []
        let seventh = entries[6].array?[0].string ?? ""
        #expect(try await client.send("XTRIM", key: "ins:{capped}:stream", "MINID", seventh).int == 6)
        #expect(try await ingestor.ingest(events(10..<16)) == IngestResult(accepted: 6, duplicates: 0))
        #expect(try await xlen() == 10)
        #expect(try await dayEvents() == 16)
        #expect(try await seen() == 16)
    }

    /// Callers that predate the cap (e.g. the benchmark's Python peer) send no cap argument: no cap.
    @Test func callsWithoutTheCapArgumentStillWork() async throws {
        let ingestor = try EventIngestor(client: client, streamCap: 1)
        let withCap = ingestor.command(agent: "capped", events: events(0..<3)[...])
        var call = ingestor.script.call(keys: ["ins:{capped}:stream"])
        for arg in withCap.arguments.dropFirst(4).dropLast() { call.append(bytes: arg) }  // after EVALSHA sha 1 key; no cap
        #expect(call.count == withCap.count - 1)
        let reply = try await client.evaluate(ingestor.script, call)
        #expect(reply.array?.compactMap(\.int) == [3, 0])
        // With the cap argument (1), the same kind of batch is refused.
        await #expect(throws: StreamFullError.self) { try await ingestor.ingest(events(3..<6)) }
        #expect(try await xlen() == 3)
    }

    @Test func noCapWhenZero() async throws {
        let ingestor = try EventIngestor(client: client, streamCap: 0)
        #expect(try await ingestor.ingest(events(0..<300)).accepted == 300)
        #expect(try await xlen() == 300)
    }

    @Test func trackerKeepsEventsWhileTheStreamIsFull() async throws {
        var config = TrackerConfiguration()
        config.batchSize = 10
        config.streamCap = 20
        config.retryMaxDelay = 0.1
        let tracker = try Tracker(client: client, configuration: config)
        for e in events(0..<30) { try await tracker.track(e) }
        // 20 fit; the call that would pass the cap is refused and the tracker keeps retrying it.
        let deadline = ContinuousClock.now + .seconds(10)
        while await tracker.statistics.retries < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        var stats = await tracker.statistics
        #expect(stats.retries > 0 && stats.failed == 0 && stats.pending >= 10)
        #expect(try await xlen() == 20)
        #expect(try await dayEvents() == 20)
        // A worker trims everything it acknowledged: the tracker gets through.
        try await client.send("XTRIM", key: "ins:{capped}:stream", "MAXLEN", "0")
        await tracker.shutdown()
        stats = await tracker.statistics
        // (stats.accepted counts only calls that succeeded as a whole: the events written by the
        // first, partly refused attempt come back as duplicates of the retry.)
        #expect(stats.failed == 0 && stats.pending == 0 && stats.accepted + stats.duplicates >= 30)
        #expect(try await dayEvents() == 30)
        #expect(try await seen() == 30)
    }

    /// Regression (chaos scenario 4): a transient refusal such as `LOADING` (Redis restarting) or
    /// `BUSY` did not run the script, yet the tracker counted the batch as refused and dropped it.
    @Test func transientRefusalIsRetriedNotDropped() async throws {
        try await client.send("CONFIG", "SET", "busy-reply-threshold", "20")
        let blocker = RedisClient(configuration: server.configuration(commandTimeout: 10), poolSize: 1)
        // A script that holds Redis for 1.5 s: every other command meanwhile gets `BUSY`.
        let slow = Task {
            try await blocker.send("EVAL", """
                local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]
                while true do
                  local u = redis.call('TIME')
                  if u[1] * 1e6 + u[2] - s > 1500000 then break end
                end
                return 1
                """, "0")
        }
        try await Task.sleep(for: .milliseconds(300))
        var config = TrackerConfiguration()
        config.retryMaxDelay = 0.2
        let tracker = try Tracker(client: client, configuration: config)
        for e in events(0..<50) { try await tracker.track(e) }
        await tracker.flush()
        _ = try await slow.value
        let stats = await tracker.statistics
        #expect(stats.retries > 0)
        #expect(stats.failed == 0 && stats.accepted == 50)
        #expect(try await dayEvents() == 50)
        await blocker.close()
        await tracker.shutdown()
    }

    @Test func transientCodes() {
        #expect(RedisCommandError(message: "LOADING Redis is loading the dataset in memory").isTransient)
        #expect(RedisCommandError(message: "BUSY Redis is busy running a script.").isTransient)
        #expect(!RedisCommandError(message: "ERR invalid argument: event 0: unknown event_type").isTransient)
        #expect(!RedisCommandError(message: "WRONGTYPE Operation against a key holding the wrong kind of value").isTransient)
    }
}
