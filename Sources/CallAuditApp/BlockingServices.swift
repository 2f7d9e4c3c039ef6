import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Work that blocks (libpq, librdkafka), with the call that asks it to end.
package struct BlockingWork: Sendable {
    let description: String
    let work: @Sendable () throws -> Void
    let stop: @Sendable () -> Void

    package init(description: String, work: @escaping @Sendable () throws -> Void, stop: @escaping @Sendable () -> Void) {
        self.description = description
        self.work = work
        self.stop = stop
    }
}

/// Blocking works that stop together, as one `Service`: each runs on a thread
/// of its own, never on the cooperative pool.
///
/// A `ServiceGroup` stops its services one after another, each after the
/// previous has ended. These works have no order among them, and several wait
/// on Kafka or PostgreSQL as they end (the consumer leaving its group, a status
/// sample's watermark query), so one after another their waits added up past
/// the shutdown limit when every broker was down. Told to stop together, a
/// shutdown waits for the slowest of them, not for their sum.
///
/// The first to end on its own, whether it returns or throws, stops the
/// others, as the group would have. They get `windDown` to end; then the
/// service ends anyway (with the first error), so the group shuts the rest of
/// the process down within its own limits: one loop stuck behind a lock must
/// not keep a process serving whose ingest has failed. On cancellation it ends
/// at once: the threads still running die with the process, and what they had
/// not committed is read again on the next start.
package struct BlockingServices: Service, CustomStringConvertible {
    let members: [BlockingWork]
    let windDown: Duration
    let logger: Logger

    package init(members: [BlockingWork], windDown: Duration, logger: Logger) {
        self.members = members
        self.windDown = windDown
        self.logger = logger
    }

    package var description: String { "blocking: " + members.map(\.description).joined(separator: ", ") }

    package func run() async throws {
        let outcomes = Outcomes(running: members.count)
        let stopAll: @Sendable () -> Void = { [members] in members.forEach { $0.stop() } }
        for (index, member) in members.enumerated() { Self.start(member, index: index, reportingTo: outcomes) }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await outcomes.firstEnd()
            } onGracefulShutdown: {
                outcomes.shutdownRequested()
                stopAll()
            }
        } onCancel: {
            stopAll()
            outcomes.cancel()
        }
        stopAll()
        let state = outcomes.snapshot
        if !state.shuttingDown, let first = state.firstEnded {
            let name = members[first].description
            if let error = state.firstError {
                logger.error("\(name) failed; stopping the other services", metadata: ["error": "\(error)"])
            } else {
                logger.warning("\(name) ended; stopping the other services")
            }
        }
        // A shutdown waits for all of them (the group's limit bounds it); a work that ended on its own gives the rest `windDown`.
        let deadline = state.shuttingDown ? nil : ContinuousClock.now + windDown
        while outcomes.snapshot.running > 0, !Task.isCancelled, deadline.map({ .now < $0 }) ?? true {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let end = outcomes.snapshot
        if end.running > 0, !Task.isCancelled {
            logger.error("services did not stop within \(windDown)", metadata: ["services": "\(end.stillRunning.map { members[$0].description })"])
        }
        if let error = end.firstError { throw error }
    }

    private static func start(_ member: BlockingWork, index: Int, reportingTo outcomes: Outcomes) {
        let thread = Thread { [work = member.work] in
            do {
                try work()
                outcomes.ended(index, error: nil)
            } catch {
                outcomes.ended(index, error: error)
            }
        }
        thread.name = member.description
        thread.start()
    }
}

/// What the members' threads report, and the one wait for the first of them to end.
private final class Outcomes: Sendable {
    struct State {
        var stillRunning: Set<Int>
        var running: Int { stillRunning.count }
        var firstEnded: Int?
        var firstError: (any Error)?
        var shuttingDown = false
        var cancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(running: Int) { state = Mutex(State(stillRunning: Set(0..<running))) }

    var snapshot: State { state.withLock { $0 } }

    func ended(_ index: Int, error: (any Error)?) {
        let waiter = state.withLock { state in
            state.stillRunning.remove(index)
            if state.firstEnded == nil { state.firstEnded = index }
            if state.firstError == nil, let error { state.firstError = error }
            return state.waiter.take()
        }
        waiter?.resume()
    }

    func shutdownRequested() { state.withLock { $0.shuttingDown = true } }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.waiter.take()
        }?.resume()
    }

    /// Returns once a member has ended, or on cancellation.
    func firstEnd() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                guard state.firstEnded == nil, !state.cancelled else { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
