import CallAuditRuntime
import CallAuditStore
import Logging

/// An event store session that outlasts transient failures.
///
/// `run` retries its body while the failure is transient (see `FailureClass`):
/// on a new connection when the session is unusable, on the same one
/// otherwise, with capped exponential backoff. Bad input and fatal errors are
/// thrown to the caller; so is `StopRequested` once `stop` is signalled.
/// Used by one thread at a time; its `canceller` may be used from any.
///
/// With `resyncOnNewSession`, a failure that takes the session throws
/// `ResyncNeeded` instead of retrying on a new one: what that session
/// committed may be gone (a failover onto a standby that had not received it),
/// so what was built on it (positions, persons in the vault) must be read again.
/// With `resyncOnRetiredKEK` (the writer's), so does a key refused as wrapped
/// with a retired KEK (CA001): the batch was sealed before the retirement, and
/// the same bytes would be refused for ever; read again, its messages are sealed
/// under the KEK that is current now. Such resyncs back off as retries do, until
/// a batch commits: a host that still wraps with the retired KEK re-reads slowly.
final class RetryingStore {
    private let database: DatabaseConfiguration
    private let application: String
    private let maxDelay: Duration
    private let logger: Logger
    private let statistics: IngestStatistics
    private let stop: StopSignal
    private let resyncOnNewSession: Bool
    private let resyncOnRetiredKEK: Bool
    /// Kept across calls: reset when a body succeeds.
    private var retiredKEKBackoff: Backoff
    private var store: EventStore?
    /// The session in use, for cancelling its statement from another thread.
    let canceller = CancelSlot()

    init(
        database: DatabaseConfiguration, application: String, maxDelay: Duration, logger: Logger, statistics: IngestStatistics,
        stop: StopSignal, resyncOnNewSession: Bool = false, resyncOnRetiredKEK: Bool = false
    ) {
        self.resyncOnNewSession = resyncOnNewSession
        self.resyncOnRetiredKEK = resyncOnRetiredKEK
        self.retiredKEKBackoff = Backoff(maximum: maxDelay)
        self.database = database
        self.application = application
        self.maxDelay = maxDelay
        self.logger = logger
        self.statistics = statistics
        self.stop = stop
    }

    func run<T>(_ body: (EventStore) throws -> T) throws -> T {
        var backoff = Backoff(maximum: maxDelay)
        while true {
            do {
                let result = try body(try session())
                retiredKEKBackoff = Backoff(maximum: maxDelay)
                return result
            } catch let error as PostgresError {
                guard case .transient(let reconnect) = error.failureClass else { throw error }
                if reconnect { close() }
                statistics.retries.add(1, ordering: .relaxed)
                IngestMetrics.recordRetry()
                try stop.check()
                if reconnect && resyncOnNewSession { throw ResyncNeeded(cause: error) }
                if error.sqlState == PostgresError.retiredKEK && resyncOnRetiredKEK {
                    try stop.sleep(for: retiredKEKBackoff.step())
                    throw ResyncNeeded(cause: error, sealedUnderRetiredKEK: true)
                }
                let delay = backoff.step()
                logger.warning(
                    "PostgreSQL failed transiently; retrying the same batch",
                    metadata: ["error": "\(error)", "retry.delay": "\(delay)", "retry.reconnect": "\(reconnect)"])
                try stop.sleep(for: delay)
            }
        }
    }

    private func session() throws -> EventStore {
        if let store { return store }
        let connection = try database.connect(application: application)
        canceller.hold(connection)
        let opened = EventStore(connection: connection)
        store = opened
        return opened
    }

    private func close() {
        store = nil
        canceller.hold(nil)
    }
}

/// A session of ingest's pipeline was lost: what it committed may not be in the
/// database it reconnects to (after a failover, the standby may lack the last
/// batches committed with `synchronous_commit = local`). Ingest drops the batches
/// in flight, forgets the persons its vault remembers, and reads every partition
/// again from the positions stored in PostgreSQL; events found stored are skipped.
struct ResyncNeeded: Error, CustomStringConvertible {
    let cause: PostgresError
    /// Not a lost session: a batch sealed under a KEK retired before it was stored.
    var sealedUnderRetiredKEK = false

    var description: String {
        sealedUnderRetiredKEK
            ? "a batch was sealed under a KEK retired before it could be stored (\(cause)); reading it again from the stored positions, to seal it under the current KEK"
            : "a PostgreSQL session of ingest was lost (\(cause)); reading again from the stored positions"
    }
}
