import CallAuditRuntime
import CallAuditStore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// PostgreSQL sessions for request handlers. libpq blocks, so every query runs
/// on one of the pool's own threads, never on the event loops or the
/// cooperative pool; there are as many sessions as threads, opened on demand
/// and dropped when they break.
///
/// A `Service`: it runs until the group shuts it down, after the API (it comes
/// before the API in the group), and then ends its threads.
package final class DatabasePool: Service, Sendable {
    private let database: DatabaseConfiguration
    private let threads: NIOThreadPool
    private let idle = IdleSessions()
    /// Cancellers of the sessions running a request's work now.
    private let running = RunningSessions()
    /// Begun when the API starts to stop (`CancelOnShutdown`): a request still waiting for
    /// PostgreSQL after `shutdownGrace` (a commit waiting for a synchronous standby that is
    /// down) is cancelled, each statement then failing with 57014 or, for such a commit, with
    /// the unconfirmed-commit error, so the API can finish its requests.
    package let cancellation: ShutdownCancellation

    package init(database: DatabaseConfiguration, size: Int, shutdownGrace: Duration = .seconds(4)) {
        self.database = database
        threads = NIOThreadPool(numberOfThreads: max(size, 1))
        threads.start()
        cancellation = ShutdownCancellation(grace: shutdownGrace) { [running] in running.cancelAll() }
    }

    /// Runs `body` with a session on a pool thread.
    package func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await threads.runIfActive { [database, idle, running] in
            let handle = try idle.take() ?? PostgresConnection.Handle(try database.connect(application: "callaudit-api"))
            let key = ObjectIdentifier(handle)
            if let canceller = handle.connection.makeCanceller() { running.add(key, canceller) }
            defer { running.remove(key) }
            do {
                let value = try body(handle.connection)
                idle.put(handle)
                return value
            } catch {
                if !handle.connection.shouldReplace(after: error) { idle.put(handle) }
                throw error
            }
        }
    }

    /// Waits for the group's shutdown, then ends the threads and drops the idle sessions.
    /// Cancelling stops only once the threads have ended: work still running then
    /// (a request whose task was cancelled) is cancelled like any other.
    package func run() async throws {
        try? await gracefulShutdown()
        try await threads.shutdownGracefully()
        cancellation.end()
        idle.removeAll()
    }
}

/// Sessions not in use right now.
private final class IdleSessions: Sendable {
    private let handles = Mutex<[PostgresConnection.Handle]>([])

    func take() -> PostgresConnection.Handle? { handles.withLock { $0.popLast() } }
    func put(_ handle: PostgresConnection.Handle) { handles.withLock { $0.append(handle) } }
    func removeAll() { handles.withLock { $0.removeAll() } }
}

/// Cancellers of the sessions in use.
private final class RunningSessions: Sendable {
    private let cancellers = Mutex<[ObjectIdentifier: PostgresCanceller]>([:])

    func add(_ key: ObjectIdentifier, _ canceller: PostgresCanceller) { cancellers.withLock { $0[key] = canceller } }
    func remove(_ key: ObjectIdentifier) { _ = cancellers.withLock { $0.removeValue(forKey: key) } }
    func cancelAll() { for canceller in cancellers.withLock({ Array($0.values) }) { canceller.cancel() } }
}
