import CallAuditDomain
import CallAuditStore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps one projection up to date with the log.
///
/// One runner per projection is active across all service instances: it holds
/// a session advisory lock; the others stand by and take over when its
/// session ends. The leader applies settled events in batches (see `EventLog`)
/// and sleeps until NOTIFY says new events were committed, polling as a fallback.
/// Not thread-safe: one thread runs it; `requestStop` may come from any.
public final class ProjectionRunner: @unchecked Sendable {
    public let projection: any Projection
    private let databaseURL: String
    private let logger: Logger
    private let batchSize: Int
    private let pollInterval: Duration
    private let stopFlag = Atomic<Bool>(false)
    private var connection: PostgresConnection?

    public init(projection: any Projection, databaseURL: String, logger: Logger, batchSize: Int = 5_000, pollInterval: Duration = .seconds(1)) {
        self.projection = projection
        self.databaseURL = databaseURL
        self.logger = logger
        self.batchSize = batchSize
        self.pollInterval = pollInterval
    }

    public func requestStop() { stopFlag.store(true, ordering: .relaxed) }
    private var stopping: Bool { stopFlag.load(ordering: .relaxed) }

    /// Leads or stands by until `requestStop`, reconnecting when PostgreSQL goes away.
    /// Leadership ends with the connection, so a standby takes over at once.
    public func run() {
        defer { connection = nil }
        while !stopping {
            do {
                let connection = try leaderConnection()
                try retryRequested(on: connection)
                if try applyNextBatch(on: connection) == 0 {
                    try connection.transaction { try projection.tick(in: connection) }
                    _ = try connection.waitForNotification(timeoutMilliseconds: Int32(pollInterval.wholeMilliseconds))
                }
            } catch let error as PostgresError where error.isConnectionFailure {
                connection = nil
                logger.warning("projection lost its database connection; reconnecting", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                sleepBriefly()
            } catch {
                logger.error("projection runner failed; retrying", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                connection = nil
                sleepBriefly()
            }
        }
    }

    /// Applies everything settled now. Returns the number of events read. For rebuilds and tests.
    @discardableResult
    public func catchUp(progress: ((Int) -> Void)? = nil) throws -> Int {
        let connection = try leaderConnection(wait: true)
        var total = 0
        while case let applied = try applyNextBatch(on: connection), applied > 0 {
            total += applied
            progress?(total)
        }
        try connection.transaction { try projection.tick(in: connection) }
        return total
    }

    /// How a rebuild went.
    public struct RebuildOutcome: Sendable {
        /// Events read: the settled log, then whatever arrived while it was folded.
        public var events: Int
        /// Whether the log was folded in memory and written at once; false when
        /// the projection cannot, or when that failed and it went batch by batch.
        public var inMemory: Bool
        /// Why the in-memory rebuild was abandoned, if it was.
        public var fallbackReason: String?
    }

    /// Empties the projection and applies the whole settled log again, then
    /// anything newer. A `BulkRebuildable` projection folds the log in memory and
    /// commits once: readers of its tables wait for the commit rather than see
    /// a half-built projection. If that fails (a poison event, say), it is rolled
    /// back and the rebuild goes batch by batch, which quarantines what fails.
    @discardableResult
    public func rebuild(progress: ((Int) -> Void)? = nil) throws -> RebuildOutcome {
        let connection = try leaderConnection(wait: true)
        var fallbackReason: String?
        if let bulk = projection as? any BulkRebuildable {
            do {
                let folded = try rebuildInMemory(bulk, on: connection, progress: progress)
                let newer = try catchUp { progress?(folded + $0) }
                return RebuildOutcome(events: folded + newer, inMemory: true)
            } catch let error as PostgresError where error.isConnectionFailure {
                throw error
            } catch {
                fallbackReason = String(describing: error)
                logger.warning(
                    "in-memory rebuild failed; rebuilding batch by batch", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
            }
        }
        try ProjectionCheckpoints(connection: connection).reset(projection)
        return RebuildOutcome(events: try catchUp(progress: progress), inMemory: false, fallbackReason: fallbackReason)
    }

    private func rebuildInMemory<Bulk: BulkRebuildable>(_ bulk: Bulk, on connection: PostgresConnection, progress: ((Int) -> Void)?) throws -> Int {
        let horizon = try EventLog(connection: connection).horizon()
        return try connection.transaction {
            let checkpoints = ProjectionCheckpoints(connection: connection)
            try checkpoints.rewind(projection)
            var rebuild = bulk.makeRebuild()
            let reader = LogPrefetcher(databaseURL: databaseURL, horizon: horizon, pageSize: 10_000, prepare: Bulk.Rebuild.prepare)
            defer { reader.cancel() }
            var cursor = LogCursor.start
            var total = 0
            while let item = try reader.next() {
                try rebuild.fold(item.page)
                cursor = item.last
                total += item.count
                progress?(total)
            }
            try rebuild.finish(in: connection, lastPosition: total > 0 ? cursor.position : nil)
            try checkpoints.move(projection.name, to: cursor, applied: total)
            return total
        }
    }

    /// A connection holding this projection's leadership, LISTENing for new events.
    private func leaderConnection(wait: Bool = false) throws -> PostgresConnection {
        if let connection { return connection }
        let candidate = try PostgresConnection(conninfo: databaseURL)
        if wait {
            try candidate.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [.text(lockKey)])
        } else {
            while try candidate.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))::text", [.text(lockKey)]).scalar != "true" {
                // Standby: another instance leads this projection.
                if stopping { throw PostgresError(kind: .client, message: "stopped while standing by") }
                sleepBriefly()
            }
        }
        try candidate.execute("LISTEN \(EventStore.notificationChannel)")
        try candidate.query(
            "INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING", [.text(projection.name)])
        logger.info("projection leader", metadata: ["projection": "\(projection.name)"])
        connection = candidate
        return candidate
    }

    /// The advisory-lock key whose holder leads the named projection.
    public static func lockKey(for projection: String) -> String { "callaudit.projection.\(projection)" }

    private var lockKey: String { Self.lockKey(for: projection.name) }

    /// One transaction: read a settled batch, apply it, move the checkpoint.
    func applyNextBatch(on connection: PostgresConnection) throws -> Int {
        let log = EventLog(connection: connection)
        // Taken before this transaction writes, so its own id does not hold the horizon back.
        let horizon = try log.horizon()
        return try connection.transaction {
            let checkpoint = try ProjectionCheckpoints(connection: connection).lockCursor(of: projection.name)
            let events = try log.read(after: checkpoint, below: horizon, limit: batchSize)
            guard let last = events.last?.cursor else { return 0 }
            let quarantine = ProjectionQuarantine(connection: connection, projection: projection.name)
            var quarantined = try quarantine.streams()
            let live = events.filter { !quarantined.contains($0.stream) }
            try connection.execute("SAVEPOINT batch")
            do {
                try projection.apply(live, in: connection)
                try connection.execute("RELEASE SAVEPOINT batch")
            } catch let error as PostgresError where error.isConnectionFailure {
                throw error
            } catch {
                // Find the poison: apply one by one, quarantining each stream that fails.
                try connection.execute("ROLLBACK TO SAVEPOINT batch")
                for event in live where !quarantined.contains(event.stream) {
                    if let failure = try applyIsolated(event, on: connection) {
                        try quarantine.add(event, error: failure)
                        quarantined.insert(event.stream)
                        logger.error("stream quarantined", metadata: ["projection": "\(projection.name)", "stream": "\(event.stream)", "position": "\(event.position)"])
                    }
                }
            }
            try ProjectionCheckpoints(connection: connection).move(projection.name, to: last, applied: live.count)
            return events.count
        }
    }

    /// Applies one event under a savepoint; returns why it failed, if it did.
    private func applyIsolated(_ event: StoredEvent, on connection: PostgresConnection) throws -> String? {
        try connection.execute("SAVEPOINT one")
        do {
            try projection.apply([event], in: connection)
            try connection.execute("RELEASE SAVEPOINT one")
            return nil
        } catch let error as PostgresError where error.isConnectionFailure {
            throw error
        } catch {
            try connection.execute("ROLLBACK TO SAVEPOINT one")
            return String(describing: error)
        }
    }

    /// Re-applies quarantined streams (all, or those an operator flagged). Returns how many were released.
    @discardableResult
    public func retryQuarantined(onlyRequested: Bool = false) throws -> Int {
        try retry(on: try leaderConnection(wait: true), onlyRequested: onlyRequested)
    }

    private func retryRequested(on connection: PostgresConnection) throws {
        _ = try retry(on: connection, onlyRequested: true)
    }

    private func retry(on connection: PostgresConnection, onlyRequested: Bool) throws -> Int {
        let quarantine = ProjectionQuarantine(connection: connection, projection: projection.name)
        var released = 0
        for entry in try quarantine.entries(onlyRequested: onlyRequested) {
            try connection.transaction {
                let checkpoint = try ProjectionCheckpoints(connection: connection).lockCursor(of: projection.name)
                let events = try EventLog(connection: connection).events(inStream: entry.stream, from: entry.cursor, through: checkpoint)
                try connection.execute("SAVEPOINT retry")
                do {
                    try projection.apply(events, in: connection)
                    try connection.execute("RELEASE SAVEPOINT retry")
                    try quarantine.release(entry.stream)
                    released += 1
                } catch let error as PostgresError where error.isConnectionFailure {
                    throw error
                } catch {
                    try connection.execute("ROLLBACK TO SAVEPOINT retry")
                    try quarantine.recordFailure(entry.stream, error: String(describing: error))
                }
            }
        }
        return released
    }

    private func sleepBriefly() {
        let deadline = ContinuousClock.now + pollInterval
        while !stopping, ContinuousClock.now < deadline { usleep(20_000) }
    }
}
