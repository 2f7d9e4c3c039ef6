import CallAuditDomain
import CallAuditRuntime
import CallAuditStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Appends `audit.report_read` events to the store before the report is
/// served: a read that cannot be recorded is not served.
///
/// Reads from many requests commit together: while one transaction is in
/// flight the next reads queue, and the following transaction takes them all
/// (group commit), so recording costs one transaction per round, not per read.
///
/// A `Service`: it runs until the group shuts it down, after the API (it comes
/// before the API in the group); then it records what is queued, refuses
/// later reads with 503, and ends its thread.
package final class ReadRecorder: Service, Sendable {
    private struct Read: Sendable {
        let event: DecodedEvent
        let done: CheckedContinuation<Void, any Error>
    }

    /// Reads waiting beyond this many are refused (503) rather than held: the store is not keeping up.
    package static let queueDepth = 10_000

    private let worker: Worker<Read>
    /// Begun when the API starts to stop (`CancelOnShutdown`): an append still waiting after
    /// `shutdownGrace` (for a synchronous standby) is cancelled, so its reads are answered 503
    /// instead of holding the service up.
    package let cancellation: ShutdownCancellation

    package init(database: DatabaseConfiguration, logger: Logger, shutdownGrace: Duration = .seconds(4)) {
        let session = ReadsSession(database: database, logger: logger)
        worker = Worker(name: "callaudit-api-read-recorder", depth: Self.queueDepth, batch: Self.queueDepth) { reads in
            let result = Result { try session.append(reads.map(\.event)) }
            for read in reads { read.done.resume(with: result) }
        }
        cancellation = ShutdownCancellation(grace: shutdownGrace, slots: [session.canceller])
    }

    /// Returns once the read is durable in the event store.
    package func record(_ event: DecodedEvent) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            switch worker.offer(Read(event: event, done: continuation)) {
            case .queued:
                break
            case .full:
                continuation.resume(throwing: ReadsSession.notRecorded)
            case .refused:
                continuation.resume(throwing: Problem(.serviceUnavailable, "shutting-down", "the service is stopping", headers: [.retryAfter: "5"]))
            }
        }
    }

    /// Waits for the group's shutdown, then records what is queued and ends the thread.
    package func run() async throws {
        try? await gracefulShutdown()
        // `finish` blocks until the last append is through: not on the cooperative pool.
        let worker = worker
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                worker.finish()
                done.resume()
            }
            thread.name = "callaudit-api-read-recorder-finish"
            thread.start()
        }
        cancellation.end()
    }
}

/// The recorder's session to the event store, used only by its worker thread.
private final class ReadsSession: Sendable {
    private let database: DatabaseConfiguration
    private let logger: Logger
    private let store = Mutex<EventStore?>(nil)
    /// The session in use, for cancelling its append from another thread.
    let canceller = CancelSlot()

    static let notRecorded = Problem(
        .serviceUnavailable, "read-not-recorded", "the read could not be recorded in the audit log, so the report is not served; try again",
        headers: [.retryAfter: "2"])

    init(database: DatabaseConfiguration, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    func append(_ events: [DecodedEvent]) throws {
        try store.withLock { store in
            do {
                let opened = try store ?? EventStore(connection: try database.connect(application: "callaudit-api-reads"))
                if store == nil { canceller.hold(opened.connection) }
                store = opened
                // Not NOTIFY: under load, every round would wake every projection for a few events no finding depends on.
                try opened.append(IngestBatch(events: events.map { IncomingEvent(event: $0, origin: nil) }), consumerGroup: "callaudit-api", notify: false)
            } catch {
                if let error = error as? PostgresError, case .transient(true) = error.failureClass {
                    store = nil
                    canceller.hold(nil)
                }
                logger.error("a report read could not be recorded; the report was not served", metadata: ["error": "\(error)"])
                throw Self.notRecorded
            }
        }
    }
}
