import CallAuditDomain
import Foundation

/// State that threads wait on: a `Mutex` with a condition variable.
///
/// `Synchronization.Mutex` cannot wait, so the primitives that block a thread
/// until something changes (a queue, a stop signal, a background result) are
/// built on this one class. Its unchecked `Sendable` conformance is one of
/// two in the module (the other is `Turns`, built on it): `state` is read and
/// written only while `condition` is locked.
final class ConditionLock<State>: @unchecked Sendable {
    private let condition = NSCondition()
    private var state: State

    init(_ initial: State) { state = initial }

    /// Runs `body` on the state, then wakes every waiter (the state may have changed).
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits until `ready` holds (or `deadline` passes), then runs `body` on the state.
    /// `body` runs in both cases: it looks at the state to tell which.
    func withLock<R>(
        when ready: (State) -> Bool, until deadline: ContinuousClock.Instant? = nil, _ body: (inout State) throws -> R
    ) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        while !ready(state) {
            guard let deadline else {
                condition.wait()
                continue
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: remaining.inSeconds))
        }
        return try body(&state)
    }
}
