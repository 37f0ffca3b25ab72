import Foundation
import InsightsTestSupport
import RedisClient
import Testing

@Suite("RedisClient against a real redis-server")
struct RedisClientTests {
    let server: TestRedisServer
    let client: RedisClient

    init() throws {
        server = try TestRedisServer()
        client = RedisClient(configuration: server.configuration(), poolSize: 3)
    }

    @Test func decodesEveryReplyType() async throws {
        #expect(try await client.send("PING") == .status("PONG"))
        #expect(try await client.send("SET", key: "k", "v") == .status("OK"))
        #expect(try await client.send("GET", key: "k") == .bulk(Array("v".utf8)))
        #expect(try await client.send("GET", key: "missing") == .null)
        #expect(try await client.send("INCRBY", "n", "41") == .integer(41))
        #expect(try await client.send("SET", key: "empty", "") == .status("OK"))
        #expect(try await client.send("GET", key: "empty") == .bulk([]))
        try await client.send("RPUSH", "l", "a", "b")
        #expect(try await client.send("LRANGE", "l", "0", "-1") == .array([.bulk([97]), .bulk([98])]))
        // Nested arrays with mixed types, including a null inside an array.
        let nested = try await client.send("EVAL", "return {1, 'x', {2, false}, redis.status_reply('S')}", "0")
        #expect(nested == .array([.integer(1), .bulk([120]), .array([.integer(2), .null]), .status("S")]))
        await #expect(throws: RedisCommandError.self) { try await client.send("INCR", "k") }
        do {
            try await client.send("INCR", "k")
        } catch let e as RedisCommandError {
            #expect(e.code == "ERR")
            #expect(e.message.contains("not an integer"))
        }
    }

    @Test func errorRepliesDoNotBreakTheConnection() async throws {
        await #expect(throws: RedisCommandError.self) { try await client.send("NOSUCHCOMMAND") }
        #expect(try await client.send("PING") == .status("PONG"))
    }

    @Test func pipelineReturnsRepliesInOrderWithErrorsInPlace() async throws {
        var commands: [RedisCommand] = []
        for i in 0..<500 { commands.append(RedisCommand("RPUSH", "p", String(i))) }
        commands.append(RedisCommand("INCR", "p"))  // WRONGTYPE
        commands.append(RedisCommand("LLEN", "p"))
        let replies = try await client.pipeline(commands)
        #expect(replies.count == 502)
        #expect(replies[0] == .integer(1))
        #expect(replies[499] == .integer(500))
        if case .error(let m) = replies[500] { #expect(m.hasPrefix("WRONGTYPE")) } else { Issue.record("expected an error") }
        #expect(replies[501] == .integer(500))
    }

    @Test func argumentsAreBinarySafe() async throws {
        let bytes: [UInt8] = [0, 1, 2, 13, 10, 0xFF, 0xFE, 32, 0]
        var set = RedisCommand("SET")
        set.append(bytes: Array("bin\0key".utf8))
        set.append(bytes: bytes)
        try await client.send(set)
        var get = RedisCommand("GET")
        get.append(bytes: Array("bin\0key".utf8))
        #expect(try await client.send(get).bytes == bytes)
        #expect(try await client.send("STRLEN", key: "bin") == .integer(0))
    }

    /// The first call learns the SHA-1 from Redis (no SHA-1 is computed here); later calls are
    /// EVALSHAs that run; after a SCRIPT FLUSH the call is sent with its source again.
    @Test func scriptsReloadAfterScriptFlush() async throws {
        let script = RedisScript(name: "add", source: "return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(script.sha == nil)
        func call() -> RedisCommand {
            var c = script.call(keys: ["counter"])
            c.append(5)
            return c
        }
        #expect(try await client.evaluate(script, call()) == .integer(5))
        let sha = try #require(script.sha)
        #expect(sha == (try await client.send("SCRIPT", "LOAD", script.source).string))
        let copy = script  // copies share what was learned
        #expect(copy.sha == sha)
        try await client.send("CONFIG", "RESETSTAT")
        #expect(try await client.evaluate(script, call()) == .integer(10))
        let stats = try #require(try await client.send("INFO", "commandstats").string)
        #expect(stats.contains("cmdstat_evalsha:calls=1") && !stats.contains("cmdstat_eval:"))
        try await client.send("SCRIPT", "FLUSH")
        #expect(try await client.evaluate(script, call()) == .integer(15))
        // A pipelined batch after a flush: every call runs exactly once.
        try await client.send("SCRIPT", "FLUSH")
        let replies = try await client.evaluate(script, Array(repeating: call(), count: 4))
        #expect(replies == [.integer(20), .integer(25), .integer(30), .integer(35)])
        #expect(try await client.send("GET", key: "counter").int == 35)
    }

    /// `load` learns what SCRIPT LOAD answers (the SHA-1 of "return 1", as `sha1sum` prints it).
    @Test func loadLearnsTheSHA() async throws {
        let script = RedisScript(name: "x", source: "return 1")
        try await client.load([script])
        #expect(script.sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(try await client.evaluate(script, script.call(keys: [])) == .integer(1))
    }

    @Test func reconnectsAfterServerRestart() async throws {
        try await client.send("SET", key: "before", "1")
        server.stop()
        await #expect(throws: RedisConnectionError.self) { try await client.send("PING") }
        try server.start()
        // The broken connection was dropped; the next call reconnects (data is gone: no persistence).
        var answered = false
        for _ in 0..<3 where !answered {
            if (try? await client.send("PING")) == .status("PONG") { answered = true }
        }
        #expect(answered)
        #expect(try await client.send("GET", key: "before") == .null)
    }

    @Test func poolBoundsConcurrentUse() async throws {
        // 50 concurrent callers over 3 connections: all served, at most 3 connections opened.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask { try await client.send("INCRBY", "shared", String(i)) }
            }
            try await group.waitForAll()
        }
        #expect(try await client.send("GET", key: "shared").int == (0..<50).reduce(0, +))
        let clients = try await client.send("CLIENT", "LIST").string ?? ""
        let count = clients.split(separator: "\n").count
        #expect(count <= 3)
    }

    @Test func commandTimeoutIsAConnectionError() async throws {
        let slow = RedisClient(configuration: server.configuration(commandTimeout: 0.2), poolSize: 1)
        await #expect(throws: RedisConnectionError.self) {
            try await slow.send("BLPOP", "nothing", "2")
        }
        #expect(try await slow.send("PING") == .status("PONG"))
        await slow.close()
    }

    @Test func closedClientRefuses() async throws {
        let c = RedisClient(configuration: server.configuration(), poolSize: 1)
        #expect(try await c.send("PING") == .status("PONG"))
        await c.close()
        await #expect(throws: RedisConnectionError.self) { try await c.send("PING") }
    }
}

@Suite struct RedisConfigurationTests {
    @Test func parsesURLs() throws {
        let a = try RedisConfiguration(url: "redis://alice:s3cr%40t@db.example:6380/2")
        #expect(a.endpoint == .tcp(host: "db.example", port: 6380))
        #expect(a.username == "alice")
        #expect(a.password == "s3cr@t")
        #expect(a.database == 2)
        #expect(a.redactedDescription == "redis://alice:***@db.example:6380/2")
        let b = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(b.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        #expect(b.password == nil && b.database == 0)
        let c = try RedisConfiguration(url: "redis://:pw@[::1]:7000")
        #expect(c.endpoint == .tcp(host: "::1", port: 7000))
        #expect(c.username == nil && c.password == "pw")
        let d = try RedisConfiguration(url: "unix:///tmp/r.sock?db=3")
        #expect(d.endpoint == .unix(path: "/tmp/r.sock"))
        #expect(d.database == 3)
    }

    @Test func rejectsBadURLs() {
        for bad in ["http://x", "redis://host:0", "redis://host:abc", "redis://host/x", "unix://relative", "redis://"] {
            #expect(throws: RedisConfigurationError.self, "\(bad)") { try RedisConfiguration(url: bad) }
        }
    }

}
