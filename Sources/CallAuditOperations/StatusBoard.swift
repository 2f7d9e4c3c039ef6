import CallAuditDomain
import CallAuditRuntime
import CallAuditStore
import Foundation
import Logging
import Synchronization

/// The latest status, for any thread to read, and the loop that keeps it fresh.
///
/// `run` samples every `interval` on the calling thread (a blocking service
/// of its own), publishes the sample here and into the gauges. When
/// PostgreSQL fails, the last good sample stays, `lastFailure` says why, and
/// the next round reconnects.
package final class StatusBoard: Sendable {
    private struct State {
        var latest: OperationsStatus?
        var lastFailure: String?
        var sampledAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let stop = StopSignal()
    /// The sampling session, so a stop can cancel a query blocked behind a lock.
    private let canceller = CancelSlot()
    /// No grace: a sample cut short is worth less than none.
    private let cancellation: ShutdownCancellation
    package let interval: Duration

    package init(interval: Duration = .seconds(2)) {
        self.interval = interval
        cancellation = ShutdownCancellation(grace: .zero, slots: [canceller])
    }

    package var latest: OperationsStatus? { state.withLock { $0.latest } }

    /// Why the last round failed, if it did; cleared by the next good one.
    package var lastFailure: String? { state.withLock { $0.lastFailure } }

    /// Whether the latest sample is at most `rounds` intervals old.
    package func isFresh(rounds: Int = 3) -> Bool {
        state.withLock { $0.sampledAt.map { $0.duration(to: .now) <= interval * rounds } ?? false }
    }

    package func publish(_ status: OperationsStatus) {
        state.withLock {
            $0.latest = status
            $0.lastFailure = nil
            $0.sampledAt = .now
        }
        OperationsMetrics.update(from: status)
    }

    /// Stops sampling; every query the sample still runs is cancelled until the loop has ended.
    package func requestStop() {
        guard stop.signal() else { return }
        cancellation.begin()
    }

    /// Samples until `requestStop`. Never throws: a failed round is logged and retried.
    package func run(sampler: StatusSampler, database: DatabaseConfiguration, logger: Logger) {
        var database = database
        // A sample stuck behind a lock is worth less than the next one.
        database.statementTimeout = min(database.statementTimeout == .zero ? .seconds(10) : database.statementTimeout, .seconds(10))
        var connection: PostgresConnection?
        defer {
            canceller.hold(nil)
            cancellation.end()
        }
        while !stop.isSignalled {
            do {
                let session = try connection ?? database.connect(application: "callaudit-status")
                if connection == nil { canceller.hold(session) }
                connection = session
                publish(try sampler.sample(on: session))
            } catch {
                if let session = connection, session.shouldReplace(after: error) { connection = nil }
                let reason = (error as? PostgresError).map { "PostgreSQL: \($0.description)" } ?? "\(error)"
                state.withLock { $0.lastFailure = reason }
                logger.warning("status sample failed; keeping the last one", metadata: ["error": "\(reason)"])
            }
            stop.wait(for: interval)
        }
    }
}
