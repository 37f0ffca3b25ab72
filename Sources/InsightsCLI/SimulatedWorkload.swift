import InsightsModel

/// Realistic conversations for benchmarks and the demo: start, user/bot turns with
/// intents (some fallbacks, low confidence), workflows, escalations, abandoned sessions.
struct SimulatedWorkload: Sendable {
    let seed: UInt64

    static let intents = ["book_flight", "check_status", "cancel_order", "billing", "greeting", "fallback"]

    struct Generator {
        var rng: SplitMix
        let agent: String
        let prefix: String
        var counter = 0
        var queue: [AnalyticsEvent] = []
        var session = 0
        /// Live mode (the simulator): each event is stamped with the time `next()` is called,
        /// instead of a conversation backdated up to an hour.
        var live = false

        mutating func next() -> AnalyticsEvent {
            if queue.isEmpty { queue = conversation().reversed() }
            var event = queue.removeLast()
            if live { event.timestampMs = EventClock.nowMs() }
            return event
        }

        /// One conversation's events, timestamps a few seconds apart, ending in the recent past.
        mutating func conversation() -> [AnalyticsEvent] {
            session += 1
            let sid = "\(prefix)-s\(session)"
            var t = EventClock.nowMs() - 60_000 - Int64(rng.next() % 3_600_000)
            var out: [AnalyticsEvent] = []
            func add(_ type: EventType, rt: Int? = nil, conf: Double? = nil, data: [String: JSONValue] = [:]) {
                counter += 1
                t += Int64(500 + rng.next() % 4000)
                out.append(AnalyticsEvent(eventID: "\(prefix)-\(counter)", eventType: type, timestampMs: t, sessionID: sid,
                                          userID: "u\(rng.next() % 5000)", agentID: agent, data: data,
                                          channel: ["web", "mobile", "voice"][Int(rng.next() % 3)],
                                          responseTimeMs: rt, confidence: conf))
            }
            add(.conversationStart)
            let turns = 1 + Int(rng.next() % 5)
            var escalated = false
            for _ in 0..<turns {
                add(.userMessage)
                let intent = SimulatedWorkload.intents[Int(rng.next() % UInt64(SimulatedWorkload.intents.count))]
                add(.intentClassified, conf: Double(50 + rng.next() % 50) / 100, data: ["intent": .string(intent)])
                add(.botResponse, rt: 40 + Int(rng.next() % 900))
                if intent == "book_flight" {
                    add(.workflowStarted, data: ["workflow": "booking"])
                    add(rng.next() % 5 == 0 ? .workflowFailed : .workflowCompleted, data: ["workflow": "booking"])
                }
                if rng.next() % 20 == 0 {
                    escalated = true
                    add(.custom, data: ["escalated_to_human": true])
                    break
                }
            }
            if escalated || rng.next() % 4 != 0 { add(.conversationEnd) }  // a quarter are abandoned
            return out
        }
    }

    func generator(agent: String, prefix: String, live: Bool = false) -> Generator {
        Generator(rng: SplitMix(state: seed &+ Self.stableHash(prefix)), agent: agent, prefix: prefix, live: live)
    }

    /// FNV-1a of the UTF-8 bytes: unlike `hashValue`, the same in every process, so a workload
    /// (e.g. `insights bench --dump-events`) is reproducible.
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// A small deterministic PRNG (SplitMix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
