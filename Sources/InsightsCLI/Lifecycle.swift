import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The one shutdown path of `run`, `serve`, `worker` and `simulate` (docs/operations.md, *Shutdown*):
/// each part is a service of one swift-service-lifecycle `ServiceGroup`. The first SIGTERM or SIGINT
/// starts a graceful shutdown, signalled to the services one at a time in the reverse of their
/// order, each awaited before the next: list the front last (it stops accepting and answers what it
/// took first), the producers before it (the simulator's trackers deliver what they buffered), the
/// workers first (they stop last, once nothing more arrives). A second signal exits at once
/// (status 130) without waiting; a shutdown longer than ``maximumGracefulShutdown`` is escalated to
/// task cancellation.
enum Lifecycle {
    static let shutdownSignals: [UnixSignal] = [.sigterm, .sigint]
    /// Covers a tracker's 30 s delivery timeout (Simulator) with room for the front's open requests.
    static let maximumGracefulShutdown = Duration.seconds(60)

    /// Runs the services until they have all stopped, then `cleanup` (closing Redis clients), whether
    /// the group ended well or threw; rethrows the group's error. `onSecondSignal` runs before the
    /// process exits on a second signal (stopping a managed redis-server, which would outlive it).
    static func run(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger,
                    onSecondSignal: @escaping @Sendable () -> Void = {}, then cleanup: () async -> Void) async throws {
        do {
            try await group(services, logger: logger, onSecondSignal: onSecondSignal)
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }

    private static func group(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger,
                              onSecondSignal: @escaping @Sendable () -> Void) async throws {
        var config = ServiceGroupConfiguration(
            services: [.init(service: SecondSignal(onExit: onSecondSignal), serviceName: "second-signal")] + services,
            gracefulShutdownSignals: shutdownSignals, logger: logger)
        config.maximumGracefulShutdownDuration = maximumGracefulShutdown
        try await ServiceGroup(configuration: config).run()
    }

    /// A long-running loop that stops when its task is cancelled (a worker's, the alert engine's:
    /// the current atomic script call completes first), cancelled at its turn in the shutdown.
    static func loop(_ name: String, _ body: @escaping @Sendable () async -> Void) -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: Loop(body: body), serviceName: name)
    }

    private struct Loop: Service {
        let body: @Sendable () async -> Void
        func run() async throws { await cancelWhenGracefulShutdown(body) }
    }

    /// First in the group, so the last to stop: while the others shut down, a second SIGTERM or
    /// SIGINT ends the process (the group itself only listens for the first).
    private struct SecondSignal: Service {
        let onExit: @Sendable () -> Void

        func run() async throws {
            let signals = await UnixSignalsSequence(trapping: Lifecycle.shutdownSignals)
            await cancelWhenGracefulShutdown {
                var seen = 0
                for await _ in signals {
                    seen += 1
                    if seen >= 2 {
                        FileHandle.standardError.write(Data("\nsecond signal: exiting without waiting for the shutdown\n".utf8))
                        onExit()
                        Foundation.exit(130)
                    }
                }
            }
        }
    }
}

/// The simulated platforms as a service: on graceful shutdown they stop emitting and their trackers
/// deliver every buffered event before `run` returns; `totals` holds what they did.
final class SimulatorService: Service, Sendable {
    let simulator: Simulator
    let client: RedisClient
    let deadline: ContinuousClock.Instant?
    let progress: Bool
    let logger: Logger
    private let result = Mutex<SimulateCommand.Totals?>(nil)

    init(_ simulator: Simulator, client: RedisClient, until deadline: ContinuousClock.Instant? = nil, progress: Bool, logger: Logger) {
        self.simulator = simulator
        self.client = client
        self.deadline = deadline
        self.progress = progress
        self.logger = logger
    }

    var totals: SimulateCommand.Totals? { result.withLock { $0 } }

    func run() async throws {
        let stop = SimulateCommand.StopFlag()
        let totals = try await withGracefulShutdownHandler {
            try await simulator.run(client: client, until: deadline, stop: stop, progress: progress, logger: logger)
        } onGracefulShutdown: {
            stop.value.store(true, ordering: .relaxed)
        }
        result.withLock { $0 = totals }
    }
}
