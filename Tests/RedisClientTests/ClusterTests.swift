import Foundation
import InsightsTestSupport
import RedisClient
import Testing

@Suite("HashSlot and cluster URLs")
struct HashSlotTests {
    @Test func crc16AndSlotsOfTheSpecification() {
        // The cluster specification's reference: CRC16 of "123456789" is 0x31C3.
        #expect(HashSlot(key: "123456789").rawValue == 0x31C3)
        #expect(HashSlot(key: "foo").rawValue == 12182)
        // Hash tags: the first {…} with something inside.
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "{user1000}.followers"))
        #expect(HashSlot(key: "foo{bar}{zap}") == HashSlot(key: "bar"))
        #expect(HashSlot(key: "foo{{bar}}zap") == HashSlot(key: "{bar"))
        #expect(HashSlot(key: "foo{}{bar}") == HashSlot(key: "foo{}{bar}".utf8))
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
        #expect(HashSlot(key: "ins:{acme}:stream") == HashSlot(key: "acme"))
    }

    @Test func commandsCarryTheirSlotAndRefuseCrossSlotKeys() throws {
        let one = RedisCommand("MGET", keys: ["ins:{a}:x", "ins:{a}:y"])
        #expect(one.slot == HashSlot(key: "a"))
        try one.checkSingleSlot()
        #expect(RedisCommand("PING").slot == nil)
        let two = RedisCommand("MGET", keys: ["ins:{a}:x", "ins:{b}:x"])
        #expect(throws: RedisCommandError.self) { try two.checkSingleSlot() }
        var read = RedisCommand("XREADGROUP", "GROUP", "g", "c", "STREAMS")
        read.append(key: "ins:{z}:stream")
        read.append(">")
        #expect(read.slot == HashSlot(key: "z"))
    }

    @Test func urlsNameSeveralSeeds() throws {
        let c = try RedisConfiguration(url: "redis://u:p@10.0.0.1:7000,10.0.0.2,[::1]:7002")
        #expect(c.seeds == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 6379), .tcp(host: "::1", port: 7002)])
        #expect(c.username == "u" && c.password == "p")
        #expect(c.redactedDescription == "redis://u:***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002")
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://a:1,,b:2") }
    }
}

@Suite("RedisClient against a real Redis Cluster (3 primaries, 3 replicas)")
struct ClusterTests {
    let cluster: TestRedisCluster
    let client: RedisClient

    init() throws {
        cluster = try TestRedisCluster()
        client = RedisClient(configuration: try cluster.configuration(), poolSize: 2)
    }

    @Test func slotsAreTheServersSlots() async throws {
        var keys = (0..<300).map { "ins:{agent-\($0)}:stream" } + ["foo", "{}", "{", "}", "a{b", "a{}b{c}", "x{y}{z}", "{{a}}", ""]
        keys += (0..<50).map { _ in String((0..<Int.random(in: 1...40)).map { _ in "abc{}:-_xyz0123".randomElement()! }) }
        let port = cluster.nodes[0].port
        let commands = keys.map { RedisCommand("CLUSTER", "KEYSLOT", $0) }
        let replies = try await TestRedisCluster.offPool { try TestRedisCluster.connect(port).pipeline(commands) }
        for (key, reply) in zip(keys, replies) {
            #expect(reply.int == Int(HashSlot(key: key).rawValue), "slot of '\(key)'")
        }
    }

    @Test func findsTheClusterAndRoutesEveryKeyToItsOwner() async throws {
        #expect(try await client.isCluster())
        #expect(try await client.primaries().count == 3)
        let plain = try TestRedisServer()
        let plainClient = RedisClient(configuration: plain.configuration())
        #expect(try await plainClient.isCluster() == false)
        await plainClient.close()

        // 200 agents' keys in one pipeline: split by node, replies in the caller's order.
        let agents = (0..<200).map { "agent-\($0)" }
        let sets = agents.map { RedisCommand("SET", key: "ins:{\($0)}:v", $0) }
        #expect(try await client.pipeline(sets).allSatisfy { $0 == .status("OK") })
        let gets = try await client.pipeline(agents.map { RedisCommand("GET", key: "ins:{\($0)}:v") })
        #expect(gets.map(\.string) == agents)
        // Each key is on the node that owns its slot, and only there; every primary holds some.
        var perNode: [Int: Int] = [:]
        for agent in agents {
            let key = "ins:{\(agent)}:v"
            let owner = try await cluster.owner(of: HashSlot(key: key))
            #expect(try await cluster.command(owner.port, "EXISTS", key).int == 1)
            perNode[owner.port, default: 0] += 1
        }
        #expect(perNode.count == 3 && perNode.values.allSatisfy { $0 > 20 })
        var total = 0
        for p in try await cluster.primaries() { total += try await cluster.command(p.port, "DBSIZE").int ?? 0 }
        #expect(total == 200)
        #expect(try await client.scanKeys(matching: "ins:{*}:v").sorted() == agents.map { "ins:{\($0)}:v" }.sorted())

        // A call whose keys span slots is refused before it is sent (our message, not the server's).
        do {
            _ = try await client.send(RedisCommand("MGET", keys: ["ins:{agent-1}:v", "ins:{agent-2}:v"]))
            Issue.record("a cross-slot MGET was sent")
        } catch let e as RedisCommandError {
            #expect(e.code == "CROSSSLOT" && e.message.contains("has keys in slots"))
        }
        // A transaction on one slot runs on its node.
        let exec = try await client.transaction([RedisCommand("INCR", key: "ins:{t}:n"), RedisCommand("INCR", key: "ins:{t}:n")])
        #expect(exec == [.integer(1), .integer(2)])
    }

    @Test func scriptsRunOnEveryPrimaryAndSurviveAnEmptyScriptCache() async throws {
        let script = RedisScript(name: "t", source: "#!lua\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await client.load([script])
        for p in try await cluster.primaries() {
            #expect(try await cluster.command(p.port, "SCRIPT", "EXISTS", try #require(script.sha)).array == [.integer(1)])
        }
        func call(_ agent: String) -> RedisCommand {
            var c = script.call(keys: ["ins:{\(agent)}:n"])
            c.append("5")
            return c
        }
        let agents = (0..<30).map { "s\($0)" }
        #expect(try await client.evaluate(script, agents.map(call)).map(\.int) == Array(repeating: 5, count: 30))
        // A promoted replica, a restart or SCRIPT FLUSH: the node no longer knows the SHA.
        for p in try await cluster.primaries() { _ = try await cluster.command(p.port, "SCRIPT", "FLUSH") }
        #expect(try await client.evaluate(script, agents.map(call)).map(\.int) == Array(repeating: 10, count: 30))
        // With the shebang, a script touching a key of another slot fails loudly.
        let sneaky = RedisScript(name: "sneaky", source: "#!lua\nreturn redis.call('GET', 'ins:{other}:' .. KEYS[1])")
        await #expect(throws: RedisCommandError.self) { try await client.evaluate(sneaky, sneaky.call(keys: ["ins:{s1}:n"])) }
    }

    @Test func followsAskAndMovedWhileASlotMigrates() async throws {
        let key = "ins:{migrating}:k"
        let slot = HashSlot(key: key)
        try await client.send("SET", key: key, "before")
        let migration = try await cluster.beginMigration(of: slot)
        let source = migration.source, target = migration.target
        // A new key of the migrating slot: the source answers ASK, the client asks the target.
        try await client.send("SET", key: "ins:{migrating}:new", "asked")
        let targetPort = target.port
        let onTarget = try await TestRedisCluster.offPool {  // the target serves an importing slot only after ASKING
            try TestRedisCluster.connect(targetPort).pipeline([RedisCommand("ASKING"), RedisCommand("EXISTS", "ins:{migrating}:new")])
        }
        #expect(onTarget.last?.int == 1)
        // The existing key still answers from the source; once migrated, by ASK from the target.
        #expect(try await client.send("GET", key: key).string == "before")
        try await cluster.migrate(key, in: migration)
        #expect(try await client.send("GET", key: key).string == "before")
        #expect(try await client.pipeline([RedisCommand("GET", key: key), RedisCommand("GET", key: "ins:{migrating}:new")]).map(\.string)
                == ["before", "asked"])
        // The slot is the target's now: the source answers MOVED and the client updates its map.
        try await cluster.finish(migration)
        #expect(try await client.send("GET", key: key).string == "before")
        try await client.send("SET", key: key, "after")
        #expect(try await cluster.command(target.port, "GET", key).string == "after")
        #expect(try await cluster.command(source.port, "GET", key) == .error("MOVED \(slot.rawValue) 127.0.0.1:\(target.port)"))
    }

    @Test func aGracefulFailoverLosesNoAcknowledgedWrite() async throws {
        let key = "ins:{failover}:n"
        let primary = try await cluster.owner(of: HashSlot(key: key))
        let replica = try await cluster.replica(of: primary)
        var acknowledged = 0
        var failures = 0
        var afterFailover = 0
        let deadline = Date().addingTimeInterval(20)
        // Writes before, during and after the failover, until 200 went to the promoted replica.
        while afterFailover < 200, Date() < deadline {
            if acknowledged == 100 { _ = try await cluster.command(replica.port, "CLUSTER", "FAILOVER").get() }
            do {
                try await client.send("INCR", key: key)
                acknowledged += 1
            } catch {
                failures += 1
            }
            if acknowledged > 100 {
                if afterFailover == 0, try await cluster.owner(of: HashSlot(key: key)).port != replica.port { continue }
                afterFailover += 1
            }
        }
        #expect(afterFailover == 200)
        #expect(failures == 0)
        #expect(try await client.send("GET", key: key).int == acknowledged)
        #expect(try await cluster.owner(of: HashSlot(key: key)).port == replica.port)
    }
}
