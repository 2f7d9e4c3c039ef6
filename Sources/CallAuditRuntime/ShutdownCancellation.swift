import CallAuditStore
import Foundation
import Synchronization

/// The one policy for a blocking libpq call still running when its service is told to stop.
///
/// 1. The stop signal comes first: every loop checks it between statements
///    and ends on its own, committing what it has in hand.
/// 2. A statement still running `grace` after the stop is cancelled (it fails
///    with 57014; its transaction rolls back, so nothing half-done commits and
///    the next start does that work again).
/// 3. It is cancelled again every `repeatInterval` until the worker says it
///    has ended. A cancel reaches only the statement running when it arrives:
///    one that lands between two statements is lost, and the statement after
///    it would block the shutdown for good. Repeating closes that race for the
///    price of a few cancel requests.
///
/// `grace` is the owner's one choice: how long its work in flight is worth
/// waiting for. Ingest waits its `shutdownGrace` (a committed batch need not
/// be read again), a projection its own; a status sample, a seal round or a
/// report round is done again by the next round or instance, so they use zero.
package final class ShutdownCancellation: Sendable {
    package static let repeatInterval: Duration = .milliseconds(100)

    private let grace: Duration
    private let cancel: @Sendable () -> Void
    private let begun = Atomic<Bool>(false)
    private let ended = StopSignal()

    /// `cancel` cancels whatever the worker's sessions run now (it is called from another thread).
    package init(grace: Duration, cancel: @escaping @Sendable () -> Void) {
        self.grace = grace
        self.cancel = cancel
    }

    /// For a worker whose sessions are held in `slots`.
    package convenience init(grace: Duration, slots: [CancelSlot]) {
        self.init(grace: grace) { for slot in slots { slot.cancel() } }
    }

    /// The stop was requested: starts the clock (once; later calls do nothing).
    package func begin() {
        guard !begun.exchange(true, ordering: .relaxed) else { return }
        let (grace, cancel, ended) = (grace, cancel, ended)
        let thread = Thread {
            guard !ended.wait(for: grace) else { return }
            repeat { cancel() } while !ended.wait(for: Self.repeatInterval)
        }
        thread.name = "callaudit-shutdown-cancel"
        thread.start()
    }

    /// The worker has ended (or let go of its sessions): nothing more is cancelled.
    package func end() { ended.signal() }

    deinit { ended.signal() }
}

/// The canceller of whichever connection a worker uses now; any thread may cancel through it.
package final class CancelSlot: Sendable {
    private let current = Mutex<PostgresCanceller?>(nil)

    package init() {}

    package func hold(_ connection: PostgresConnection?) {
        let canceller = connection?.makeCanceller()
        current.withLock { $0 = canceller }
    }

    /// Cancels the statement the held connection runs now, if any (it fails with 57014).
    package func cancel() {
        current.withLock { $0 }?.cancel()
    }
}
