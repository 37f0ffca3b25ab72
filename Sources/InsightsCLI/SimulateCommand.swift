import ArgumentParser
import Foundation
import InsightsModel
import InsightsServer
import InsightsTracker
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// `insights simulate`: N simulated chat platforms emitting realistic live conversations
/// through the tracker (each platform its own Tracker, one shared RedisClient).
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Emit realistic live conversations (intents, fallbacks, workflows, escalations, abandoned sessions).",
        discussion: """
            Each simulated platform is its own Tracker on one shared Redis client; events go straight to Redis \
            through the tracker (not over HTTP). Without --redis-url (or INSIGHTS_REDIS_URL) a redis-server is \
            started for the run, with its data under ./.insights/. Stops on Ctrl-C/SIGTERM after delivering \
            every buffered event; a progress line is printed on stderr every second.
            """
    )

    @Option(help: "Redis URL (redis://host:port or unix:///path). Env: INSIGHTS_REDIS_URL. Default: a managed redis-server under ./.insights/.")
    var redisURL: String?

    @Option(help: "Agent id of the simulated conversations.")
    var agent: String = "demo"

    @Option(help: "Concurrent simulated platform instances.")
    var platforms: Int = 4

    @Option(help: "Events per second, all platforms together.")
    var rate: Double = 50

    @Option(help: "Seconds to run (0: until Ctrl-C).")
    var duration: Double = 0

    @Option(help: "Append the JSON of every event the tracker has delivered to this file, one per line, after each flush (the chaos suite's ledger).")
    var ledger: String?

    func validate() throws {
        guard platforms >= 1 else { throw ValidationError("--platforms must be at least 1") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard duration >= 0 else { throw ValidationError("--duration must be 0 or positive") }
    }

    func run() async throws {
        InsightsMetrics.bootstrap()  // swift-metrics onto the registry GET /metrics exports (docs/operations.md)
        let logger = Logger(label: "insights.simulate")
        let given = redisURL ?? ProcessInfo.processInfo.environment["INSIGHTS_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let managed = given == nil ? try ManagedRedis() : nil
        let url = given ?? managed!.url
        if let managed {
            logger.info("managed redis-server started", metadata: ["url": "\(url)", "log": "\(managed.logPath)"])
        }
        defer { managed?.stop() }

        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: max(2, min(platforms, 8)))
        let deadline = duration > 0 ? ContinuousClock.now + .milliseconds(Int64(duration * 1000)) : nil
        var simulator = Simulator(agent: agent, platforms: platforms, rate: rate)
        if let ledger {
            guard FileManager.default.createFile(atPath: ledger, contents: nil), let handle = FileHandle(forWritingAtPath: ledger) else {
                throw ValidationError("cannot write --ledger \(ledger)")
            }
            simulator.ledger = LedgerFile(handle: handle)
        }
        // Until --duration or SIGTERM/SIGINT (Lifecycle): stop emitting, deliver what is buffered.
        // A second signal exits at once (130), stopping the managed Redis first.
        let service = SimulatorService(simulator, client: client, until: deadline, progress: true, logger: logger)
        try await Lifecycle.run([.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "simulator")],
                                logger: logger, onSecondSignal: { managed?.stop() }) { await client.close() }
        if (service.totals?.failed ?? 0) > 0 { throw ExitCode.failure }
    }

    /// The platforms' tracker counters, summed.
    struct Totals {
        var tracked = 0, accepted = 0, duplicates = 0, failed = 0, retries = 0, pending = 0
    }

    /// Set when the platforms are to stop emitting (graceful shutdown, SimulatorService).
    final class StopFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static func totals(_ trackers: [Tracker]) async -> Totals {
        var sum = Totals()
        for tracker in trackers {
            let s = await tracker.statistics
            sum.tracked += s.tracked
            sum.accepted += s.accepted
            sum.duplicates += s.duplicates
            sum.failed += s.failed
            sum.retries += s.retries
            sum.pending += s.pending
        }
        return sum
    }

    static func printProgress(_ s: Totals, rate: Double?, final: Bool) {
        var line = "\rsent \(s.tracked)  accepted \(s.accepted)  duplicates \(s.duplicates)"
        if let rate { line += "  rate \(Int(rate.rounded())) events/s" }
        if s.pending > 0 { line += "  pending \(s.pending)" }
        if s.retries > 0 { line += "  retries \(s.retries)" }
        if s.failed > 0 { line += "  failed \(s.failed)" }
        if final { line += "  (done)" }
        if isatty(2) != 0 { line += "\u{1B}[K" }  // clear what a longer previous line left
        if final { line += "\n" }
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }
}

/// The simulated platforms, usable in-process (e.g. by `insights run` for the demo agent):
/// each platform is its own Tracker on the shared client, emitting live conversations at
/// `rate / platforms` events/s until the deadline, `stop`, or cancellation of the calling task,
/// then every buffered event is delivered (tracker shutdown) before it returns.
struct Simulator: Sendable {
    var agent = "demo"
    var platforms = 4
    var rate = 50.0
    /// If set, each platform flushes its tracker every `ledgerEvery` events and then appends the
    /// delivered events here: only events Redis has acknowledged are written.
    var ledger: LedgerFile?
    var ledgerEvery = 200

    func run(client: RedisClient, until deadline: ContinuousClock.Instant? = nil, stop: SimulateCommand.StopFlag = .init(),
             progress: Bool = false, logger: Logger = Logger(label: "insights.simulate")) async throws -> SimulateCommand.Totals {
        let agent = agent
        let trackers = try (0..<platforms).map { _ in try Tracker(client: client, configuration: .init(defaultAgentID: agent)) }
        let workload = SimulatedWorkload(seed: UInt64.random(in: 0...UInt64.max))
        let run = UUID().uuidString.prefix(8).lowercased()
        let perPlatform = Duration.seconds(Double(platforms) / rate)
        let reporter = Task {
            guard progress else { return }
            var last = (time: ContinuousClock.now, sent: 0)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { break }
                let totals = await SimulateCommand.totals(trackers)
                let now = ContinuousClock.now
                let perSecond = Double(totals.tracked - last.sent) / ((now - last.time) / .seconds(1))
                last = (now, totals.tracked)
                SimulateCommand.printProgress(totals, rate: perSecond, final: false)
            }
        }

        await withTaskGroup(of: Void.self) { group in
            for (i, tracker) in trackers.enumerated() {
                group.addTask {
                    var generator = workload.generator(agent: agent, prefix: "sim-\(run)-p\(i)", live: true)
                    var unflushed: [AnalyticsEvent] = []  // tracked, not yet in the ledger
                    let clock = ContinuousClock()
                    var due = clock.now
                    while !stop.value.load(ordering: .relaxed) && !Task.isCancelled {
                        let now = clock.now
                        if let deadline, now >= deadline { break }
                        if now < due {  // short naps, so a stop is seen quickly even at low rates
                            try? await Task.sleep(until: min(due, now + .milliseconds(200)), clock: clock)
                            continue
                        }
                        var event = generator.next()
                        event.platform = "sim-\(i)"
                        do {
                            try await tracker.track(event)
                            if let ledger {
                                event.agentID = event.agentID ?? agent
                                unflushed.append(event)
                                if unflushed.count >= ledgerEvery {
                                    await tracker.flush()
                                    ledger.append(unflushed)
                                    unflushed.removeAll()
                                }
                            }
                        } catch {
                            logger.error("event refused", metadata: ["error": "\(error)"])
                        }
                        due += perPlatform
                    }
                    if let ledger, !unflushed.isEmpty {
                        await tracker.flush()
                        ledger.append(unflushed)
                    }
                }
            }
        }
        // Every platform has stopped emitting: deliver what the trackers still hold (Redis down
        // for 30 s more: give up, counted and logged, rather than never exit).
        for tracker in trackers {
            let givenUp = await tracker.shutdown(timeout: .seconds(30))
            if givenUp > 0 { logger.error("Redis did not take every event before the shutdown timeout", metadata: ["abandoned": "\(givenUp)"]) }
        }
        reporter.cancel()
        await reporter.value
        let totals = await SimulateCommand.totals(trackers)
        if progress { SimulateCommand.printProgress(totals, rate: nil, final: true) }
        return totals
    }
}

/// `insights simulate --ledger FILE`: JSON lines of delivered events, appended by several platforms.
/// A class holding a FileHandle is not Sendable by itself; every write goes through the Mutex, so only
/// one task touches the handle at a time.
final class LedgerFile: Sendable {
    private let handle: Mutex<FileHandle>

    init(handle: FileHandle) { self.handle = Mutex(handle) }

    func append(_ events: [AnalyticsEvent]) {
        var bytes: [UInt8] = []
        for e in events {
            bytes += e.jsonBytes()
            bytes.append(UInt8(ascii: "\n"))
        }
        handle.withLock { $0.write(Data(bytes)) }
    }
}
