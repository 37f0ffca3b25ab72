import Dispatch
import Foundation
import Synchronization

/// A serial executor that runs its jobs on one dedicated OS thread.
///
/// hiredis calls block; an actor whose executor is one of these keeps them off
/// Swift's cooperative thread pool, and the actor's isolation keeps each hiredis
/// context on exactly one thread.
final class ThreadExecutor: SerialExecutor {
    private let jobs = Mutex<[UnownedJob]>([])
    private let stopped = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        jobs.withLock { $0.append(unowned) }
        wakeup.signal()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Ends the thread once the jobs queued so far have run.
    func shutdown() {
        stopped.store(true, ordering: .releasing)
        wakeup.signal()
    }

    private func runLoop() {
        while true {
            wakeup.wait()
            let next: UnownedJob? = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            if let next {
                next.runSynchronously(on: asUnownedSerialExecutor())
            } else if stopped.load(ordering: .acquiring) {
                return
            }
        }
    }
}
