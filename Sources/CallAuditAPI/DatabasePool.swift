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

    package init(database: DatabaseConfiguration, size: Int) {
        self.database = database
        threads = NIOThreadPool(numberOfThreads: max(size, 1))
        threads.start()
    }

    /// Runs `body` with a session on a pool thread.
    package func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await threads.runIfActive { [database, idle] in
            let handle = try idle.take() ?? PostgresConnection.Handle(try database.connect(application: "callaudit-api"))
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
