import CallAuditDomain
import CallAuditStore
import Foundation
import Logging

/// Appends `audit.report_read` events to the store before the report is
/// served: a read that cannot be recorded is not served.
///
/// Reads from many requests commit together: while one transaction is in
/// flight the next reads queue, and the following transaction takes them all
/// (group commit), so recording costs one transaction per round, not per read.
package final class ReadRecorder: @unchecked Sendable {
    private let database: DatabaseConfiguration
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: [(event: DecodedEvent, done: CheckedContinuation<Void, any Error>)] = []
    private var stopping = false
    private var store: EventStore?
    /// Cancels the append in flight (see `cancelInFlight`); set with `store`, under `condition`.
    private var canceller: PostgresCanceller?

    package init(database: DatabaseConfiguration, logger: Logger) {
        self.database = database
        self.logger = logger
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "callaudit-api-read-recorder"
        thread.start()
    }

    /// Cancels the append running now, if any: at shutdown, so reads waiting for a synchronous
    /// standby are answered 503 instead of holding the service up.
    package func cancelInFlight() {
        condition.lock()
        let canceller = self.canceller
        condition.unlock()
        canceller?.cancel()
    }

    /// Returns once the read is durable in the event store.
    package func record(_ event: DecodedEvent) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: Problem(.serviceUnavailable, "shutting-down", "the service is stopping", headers: [.retryAfter: "5"]))
                return
            }
            queue.append((event, continuation))
            condition.signal()
        }
    }

    package func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            let batch = queue
            queue.removeAll()
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { return }
            let result = Result { try append(batch.map(\.event)) }
            for waiter in batch { waiter.done.resume(with: result) }
        }
    }

    private func append(_ events: [DecodedEvent]) throws {
        do {
            let store = try self.store ?? EventStore(connection: try database.connect(application: "callaudit-api-reads"))
            if self.store == nil {
                let canceller = store.connection.makeCanceller()
                condition.lock()
                self.canceller = canceller
                condition.unlock()
            }
            self.store = store
            // Not NOTIFY: under load, every round would wake every projection for a few events no finding depends on.
            try store.append(IngestBatch(events: events.map { IncomingEvent(event: $0, origin: nil) }), consumerGroup: "callaudit-api", notify: false)
        } catch {
            if let error = error as? PostgresError, case .transient(true) = error.failureClass { store = nil }
            logger.error("a report read could not be recorded; the report was not served", metadata: ["error": "\(error)"])
            throw Problem(.serviceUnavailable, "read-not-recorded", "the read could not be recorded in the audit log, so the report is not served; try again", headers: [.retryAfter: "2"])
        }
    }
}
