import CallAuditStore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// An event store whose connection is replaced when it breaks.
///
/// `run` retries its body on a new connection with capped exponential backoff
/// while PostgreSQL is unreachable, and gives up only when `shouldStop` says so.
/// Used by one thread at a time.
final class ReconnectingStore: @unchecked Sendable {
    private let databaseURL: String
    private let maxDelay: Duration
    private let logger: Logger
    private let statistics: IngestStatistics
    private let shouldStop: @Sendable () -> Bool
    private var store: EventStore?

    init(databaseURL: String, maxDelay: Duration, logger: Logger, statistics: IngestStatistics, shouldStop: @escaping @Sendable () -> Bool) {
        self.databaseURL = databaseURL
        self.maxDelay = maxDelay
        self.logger = logger
        self.statistics = statistics
        self.shouldStop = shouldStop
    }

    func run<T>(_ body: (EventStore) throws -> T) throws -> T {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let store = try self.store ?? EventStore(connection: PostgresConnection(conninfo: databaseURL))
                self.store = store
                return try body(store)
            } catch let error as PostgresError where error.isConnectionFailure {
                store = nil
                statistics.retries.add(1, ordering: .relaxed)
                if shouldStop() { throw error }
                logger.warning("PostgreSQL unreachable; retrying", metadata: ["error": "\(error)", "retry.delay": "\(delay)"])
                sleep(for: delay)
                delay = min(delay * 2, maxDelay)
            }
        }
    }

    private func sleep(for duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !shouldStop(), ContinuousClock.now < deadline {
            usleep(20_000)
        }
    }
}
