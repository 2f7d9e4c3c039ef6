import CallAuditStore
import Synchronization

/// The one-way "stop now" of a blocking loop, which also wakes the loop at once
/// when it sleeps between rounds.
///
/// Replaces a stop flag checked by a sleep in 20–100 ms slices: a loop sleeps
/// with `wait(for:)` (or `sleep(for:)`, which throws `StopRequested`), and
/// `signal()` ends every such sleep at once, whatever its length.
package final class StopSignal: Sendable {
    /// What sleepers wait on.
    private let stopped = ConditionLock(false)
    /// The same, for the checks hot loops make per message: a load, no lock.
    private let flag = Atomic<Bool>(false)

    package init() {}

    /// Stops; true only for the call that did (the first).
    @discardableResult
    package func signal() -> Bool {
        guard !flag.exchange(true, ordering: .releasing) else { return false }
        stopped.withLock { $0 = true }
        return true
    }

    package var isSignalled: Bool { flag.load(ordering: .acquiring) }

    /// Sleeps for `duration`, or until the signal if sooner. Returns whether the signal came.
    @discardableResult
    package func wait(for duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        return stopped.withLock(when: { $0 }, until: deadline) { $0 }
    }

    /// Sleeps until the signal.
    package func wait() {
        stopped.withLock(when: { $0 }) { _ in }
    }

    /// Sleeps for `duration`; throws `StopRequested` if the signal came (or had come).
    package func sleep(for duration: Duration) throws(StopRequested) {
        if wait(for: duration) { throw StopRequested() }
    }

    /// Throws `StopRequested` once the signal came.
    package func check() throws(StopRequested) {
        if isSignalled { throw StopRequested() }
    }
}
