/// Every Redis key of one agent, built in one place (docs/keys.md, docs/worker.md).
///
/// All of them start with the agent's prefix `ins:{<agent>}:`: the braces are a Redis Cluster hash
/// tag, so every key of an agent lives in one slot and each script call touches one slot. The Lua
/// scripts receive the prefix and append the same suffixes (`lua/common.lua` names them); the
/// tracker, the workers, the queries, `insights migrate` and the benchmarks use this type.
public struct AgentKeys: Sendable, Hashable {
    /// The agent id (``IdentifierRule``: no braces, so it cannot change the hash tag).
    public let agent: String
    /// `ins:{<agent>}:`
    public let prefix: String

    public init(_ agent: String) {
        self.agent = agent
        self.prefix = "ins:{\(agent)}:"
    }

    /// The set of every agent id that has sent an event (one key, outside any agent's slot).
    public static let agents = "ins:agents"
    /// The storage format version (`2` since issue 13); written by `insights migrate` and by
    /// workers on a Redis that holds no earlier data.
    public static let schema = "ins:schema"
    public static let schemaVersion = "2"

    /// How many wake-up streams there are (``wake(_:)``): enough to spread them over the primaries
    /// of a cluster, few enough that a worker reads them all every pass in one pipeline.
    public static let wakeShards = 16

    /// Wake-up stream `n` (`ins:wake:{n}`, its own slot): ingest appends the agent id of every batch
    /// it writes (at most one entry per agent and process every ``wakeCoalesceMs``), so that workers
    /// learn which agents have new entries without polling every agent (docs/worker.md, *Many agents*).
    public static func wake(_ shard: Int) -> String { "ins:wake:{\(shard)}" }

    /// The wake-up stream of this agent.
    public var wakeStream: String { Self.wake(Int(Self.shard(agent))) }

    /// Ingest skips a wake-up entry for an agent it woke less than this long ago (workers keep an
    /// agent active for ``WorkerConfiguration``'s `activeWindow`, far longer).
    public static let wakeCoalesceMs: Int64 = 200

    /// A stable shard of an agent id (FNV-1a, mod ``wakeShards``): the same in every process.
    static func shard(_ agent: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in agent.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h % UInt32(wakeShards)
    }

    /// The agent's event stream (consumer group `workers`).
    public var stream: String { prefix + "stream" }
    /// Session state: ingest's counters and de-dup ids, the workers' outcome once finalized.
    public func session(_ sid: String) -> String { prefix + "s:" + sid }
    /// Journey records of a session not finalized yet (appended by the workers).
    public func journey(_ sid: String) -> String { prefix + "j:" + sid }
    /// Journey records of a finalized session, waiting to be compacted.
    public func finalJourney(_ sid: String) -> String { prefix + "jf:" + sid }
    /// A compacted session: its state, de-dup ids and compressed journey in one value (``CompactJourney``).
    public func compactJourney(_ sid: String) -> String { prefix + "jz:" + sid }
    /// Sessions with applied events that are not finalized, scored by their last event time.
    public var idle: String { prefix + "idle" }
    /// Live state (docs/metrics.md, *Live state*): sessions not ended nor finalized, scored by their
    /// latest event time (ingest writes it, finalizing removes it).
    public var active: String { prefix + "act" }
    /// Live state: sessions whose latest user_message has no bot_response at or after it, scored by
    /// that user_message's time.
    public var waiting: String { prefix + "wait" }
    /// Finalized sessions waiting for compaction, scored by when they are due (a lease while compacting).
    public var compactQueue: String { prefix + "cq" }
    /// The greatest event time the workers have applied.
    public var watermark: String { prefix + "wm" }
    /// Entries the workers could not read, after `maxDeliveries` deliveries.
    public var deadLetter: String { prefix + "deadletter" }
    /// The counters of one bucket (a MessagePack map field → integer).
    public func counters(_ resolution: Resolution, _ start: Int64) -> String { prefix + "c:\(resolution.keyLetter):\(start)" }
    /// The counters of a family beside the bucket's own (`P c:<res>:<start>:<letter>`): written only
    /// by events (or sessions) that carry the family, read only by the endpoints that answer it.
    public func counters(_ resolution: Resolution, _ start: Int64, family: CounterFamily?) -> String {
        counters(resolution, start, key: family.map { .family($0) } ?? .main)
    }
    /// The bucket's counters of any ``CounterKey``: its own, a family's, a breakdown slice's.
    public func counters(_ resolution: Resolution, _ start: Int64, key: CounterKey) -> String {
        counters(resolution, start) + key.suffix
    }
    /// A registry of the names of one kind the agent counts by name (a set, at most
    /// ``EventCounters/nameCap`` members; docs/keys.md, *Counter families*).
    public func names(_ kind: EventCounters.NameKind) -> String { prefix + "nm:" + kind.rawValue }

    // Alerts (docs/alerts.md, docs/keys.md).

    /// Every alert rule: a hash rule id → agent id (one key, outside any agent's slot), which the
    /// evaluators read once a minute.
    public static let alertRules = "ins:alert-rules"
    /// One alert rule: a hash (`def` its JSON, `secret`, `state`, `last` window end evaluated, `alert`, `since`).
    public func alertRule(_ id: String) -> String { prefix + "ar:" + id }
    /// The agent's alerts, newest last: a sorted set alert id → fired-at ms (bounded, ``alertRecords`` holds them).
    public var alertHistory: String { prefix + "alz" }
    /// The agent's alert records: a hash alert id → its JSON at firing, `<id>:r` → resolved-at ms.
    public var alertRecords: String { prefix + "alh" }
    /// Webhook deliveries waiting to be sent: a sorted set delivery id → due ms (a lease while sending).
    public var deliveryQueue: String { prefix + "wq" }
    /// The queued deliveries: a hash delivery id → body, `<id>:m` → `<rule> <attempts> <first ms>`.
    public var deliveries: String { prefix + "wd" }
    /// The newest delivery attempts (a list of JSON records, newest first, bounded).
    public var deliveryLog: String { prefix + "wl" }

    /// Key kinds of the format before issue 13 (docs/keys.md, "Earlier format"), read only by `insights migrate`.
    public enum Legacy {
        public static func buckets(_ keys: AgentKeys) -> String { keys.prefix + "b:*" }
        public static func sessionState(_ keys: AgentKeys, _ sid: String) -> String { keys.prefix + "sess:" + sid }
        public static func sessionFirst(_ keys: AgentKeys, _ sid: String) -> String { keys.prefix + "sf:" + sid }
        public static func journey(_ keys: AgentKeys, _ sid: String) -> String { keys.prefix + "journey:" + sid }
        public static func seen(_ keys: AgentKeys) -> String { keys.prefix + "seen:*" }
    }
}

/// Counter families (docs/keys.md, *Counter families*): the letter of a family key, and the prefix
/// `<letter>/` of its fields in ``EventCounters`` contributions.
public enum CounterFamily: String, Sendable, CaseIterable {
    /// System events: api calls, errors, conversations with errors.
    case system = "x"
    /// Intents in depth: confidence by intent, entity types.
    case intents = "n"
    /// Intent paths of finalized sessions (written by the workers).
    case paths = "p"
    /// The breakdown summary: per dimension value, the few counters `analytics/breakdown` answers
    /// from (fields `<dim>\u{1F}<field>\u{1F}<value>`).
    case breakdown = "b"
    /// Feedback, sentiment and workflows by name: what quality/metrics and workflows/metrics read
    /// (since stop 25; buckets written before hold them in their own map, and those readers sum both).
    case quality = "q"
}

/// Which counters of a bucket (docs/keys.md): its own map, a family's, or the slice of one
/// dimension value (`P c:<res>:<start>:<dim>=<value>`: the bucket's own fields, restricted to the
/// events with that value and the sessions whose first event has it).
public enum CounterKey: Hashable, Sendable {
    case main
    case family(CounterFamily)
    case slice(Dimension, String)

    public var suffix: String {
        switch self {
        case .main: ""
        case .family(let f): ":" + f.rawValue
        case .slice(let d, let v): ":" + d.rawValue + "=" + v
        }
    }
}
