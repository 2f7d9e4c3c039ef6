import CallAuditStore
import NIOPosix
import Synchronization

/// PostgreSQL sessions for request handlers. libpq blocks, so every query runs
/// on one of the pool's own threads, never on the event loops or the
/// cooperative pool; there are as many sessions as threads, opened on demand
/// and dropped when they break.
package final class DatabasePool: Sendable {
    private let database: DatabaseConfiguration
    private let threads: NIOThreadPool
    private let idle = IdleSessions()
    /// Cancellers of the sessions running a request's work now, for `cancelInFlight`.
    private let running = RunningSessions()

    package init(database: DatabaseConfiguration, size: Int) {
        self.database = database
        threads = NIOThreadPool(numberOfThreads: max(size, 1))
        threads.start()
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

    /// Cancels every statement a request runs now (each then fails with 57014, or, for a
    /// commit waiting for a synchronous standby, with the unconfirmed-commit error): at
    /// shutdown, so no request holds the service up waiting for PostgreSQL or a standby.
    package func cancelInFlight() {
        running.cancelAll()
    }

    package func shutdown() async throws {
        try await threads.shutdownGracefully()
    }
}

/// Sessions not in use right now.
private final class IdleSessions: Sendable {
    private let handles = Mutex<[PostgresConnection.Handle]>([])

    func take() -> PostgresConnection.Handle? { handles.withLock { $0.popLast() } }
    func put(_ handle: PostgresConnection.Handle) { handles.withLock { $0.append(handle) } }
}

/// Cancellers of the sessions in use.
private final class RunningSessions: Sendable {
    private let cancellers = Mutex<[ObjectIdentifier: PostgresCanceller]>([:])

    func add(_ key: ObjectIdentifier, _ canceller: PostgresCanceller) { cancellers.withLock { $0[key] = canceller } }
    func remove(_ key: ObjectIdentifier) { _ = cancellers.withLock { $0.removeValue(forKey: key) } }
    func cancelAll() { for canceller in cancellers.withLock({ Array($0.values) }) { canceller.cancel() } }
}
