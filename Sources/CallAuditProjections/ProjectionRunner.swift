import CallAuditDomain
import CallAuditRuntime
import CallAuditStore
import Foundation
import Logging

/// Keeps one projection up to date with the log.
///
/// **Guarantee.** Every settled event is applied exactly once, in (transaction,
/// position) order (see `EventLog`): the checkpoint moves in the same
/// transaction as the changes.
///
/// **How.** One runner per projection leads across all service instances: it
/// holds the projection's `Leadership` (an advisory lock on a session of its
/// own, freed within seconds when the process dies or freezes); the others
/// stand by and take over. Every transaction the leader commits checks its
/// leadership epoch first, so a leader that was frozen and superseded commits
/// nothing when it resumes: it drops its session and stands by. The leader applies settled events in batches and sleeps until
/// NOTIFY says new events were committed, polling as a fallback. It also
/// serves operators' requests (retry a quarantined stream, rebuild).
///
/// **Failures**, classified once (`FailureClass`):
/// - bad input: the batch is applied again one event at a time, and each
///   event that still fails quarantines its stream; every other stream goes on;
/// - transient: the whole batch rolls back and is retried with capped backoff;
///   nothing is quarantined or skipped;
/// - fatal: `run` throws a `ProjectionFailure` that says what to fix.
///
/// Not thread-safe: one thread runs it; `requestStop` may come from any.
package final class ProjectionRunner: @unchecked Sendable {
    package let projection: any Projection
    private let configuration: ProjectionConfiguration
    private let logger: Logger
    private let stop = StopSignal()
    private var connection: PostgresConnection?
    private let canceller = CancelSlot()
    private let cancellation: ShutdownCancellation
    private lazy var leadership = Leadership(
        name: lockKey, database: configuration.database, application: "callaudit-projection-\(projection.name)-leader", logger: logger)
    /// The leadership the connection works under; nil while standing by.
    private var fence: LeadershipFence?
    private var lastHorizonCheck = ContinuousClock.now

    package init(projection: any Projection, configuration: ProjectionConfiguration, logger: Logger) {
        self.projection = projection
        self.configuration = configuration
        self.logger = logger
        cancellation = ShutdownCancellation(grace: configuration.shutdownGrace, slots: [canceller])
    }

    /// Asks the runner to stop at its next step; a statement still running after
    /// the grace period is cancelled (its transaction rolls back, nothing is lost).
    package func requestStop() {
        guard stop.signal() else { return }
        cancellation.begin()
    }

    private var stopping: Bool { stop.isSignalled }

    /// Leads or stands by until `requestStop`, riding out transient failures.
    /// Leadership is given up with the connection, so a standby takes over at once.
    package func run() throws(ProjectionFailure) {
        defer {
            dropConnection()
            cancellation.end()
        }
        var backoff = Backoff(maximum: configuration.maxRetryDelay)
        while !stopping {
            do {
                try step()
                backoff = Backoff(maximum: configuration.maxRetryDelay)
            } catch is StopRequested {
                return
            } catch {
                let failure = FailureClass(of: error)
                if case .fatal(let remedy) = failure { throw ProjectionFailure(projection: projection.name, error: error, remedy: remedy) }
                if failure == .transient(reconnect: true) { dropConnection() }
                if error is LeadershipLost {
                    logger.warning("another instance took the lead; standing by", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                    continue
                }
                let delay = backoff.step()
                logger.warning(
                    "projection step failed; retrying",
                    metadata: ["projection": "\(projection.name)", "error": "\(error)", "retry.delay": "\(delay)"])
                stop.wait(for: delay)
            }
        }
    }

    /// One turn of the leader: operators' requests, one batch, or the clock and a nap.
    private func step() throws {
        let connection = try leaderConnection()
        try serveRequests(on: connection)
        guard try applyNextBatch(on: connection) == 0 else { return }
        try fenced(connection) { try projection.tick(in: connection) }
        try watchHorizon(on: connection)
        _ = try connection.waitForNotification(timeoutMilliseconds: Int32(configuration.pollInterval.wholeMilliseconds))
    }

    /// Applies everything settled now. Returns the number of events read. For rebuilds and tests.
    @discardableResult
    package func catchUp(progress: ((Int) -> Void)? = nil) throws -> Int {
        let connection = try leaderConnection(wait: true)
        var total = 0
        while case let applied = try applyNextBatch(on: connection), applied > 0 {
            total += applied
            progress?(total)
        }
        try fenced(connection) { try projection.tick(in: connection) }
        return total
    }

    /// One transaction: read a settled batch, apply it, move the checkpoint.
    func applyNextBatch(on connection: PostgresConnection) throws -> Int {
        let log = EventLog(connection: connection)
        // Taken before this transaction writes, so its own id does not hold the horizon back.
        let horizon = try log.horizon()
        return try fenced(connection) {
            let checkpoint = try ProjectionCheckpoints(connection: connection).lockCursor(of: projection.name)
            let events = try log.read(after: checkpoint, below: horizon, limit: configuration.batchSize)
            guard let last = events.last?.cursor else { return 0 }
            let applied = try apply(events, on: connection)
            try ProjectionCheckpoints(connection: connection).move(projection.name, to: last, applied: applied)
            return events.count
        }
    }

    /// Applies events of streams not quarantined. On bad input, finds the
    /// poison one event at a time and quarantines each stream that fails;
    /// transient and fatal errors go up, rolling the batch back. Returns how many were applied.
    private func apply(_ events: [StoredEvent], on connection: PostgresConnection) throws -> Int {
        let quarantine = ProjectionQuarantine(connection: connection, projection: projection.name)
        // Streams by their bytes, as the log and the quarantine table tell them apart: a `Set<String>`
        // took a stream canonically equivalent to a quarantined one for it, and its events were skipped.
        var quarantined = Set(try quarantine.streams().map { Array($0.utf8) })
        let live = quarantined.isEmpty ? events : events.filter { !quarantined.contains(Array($0.stream.utf8)) }
        do {
            try connection.savepoint("batch") { try projection.apply(live, in: connection) }
            return live.count
        } catch where FailureClass(of: error) == .badInput {
            var applied = 0
            for event in live where !quarantined.contains(Array(event.stream.utf8)) {
                do {
                    try connection.savepoint("one") { try projection.apply([event], in: connection) }
                    applied += 1
                } catch where FailureClass(of: error) == .badInput {
                    try quarantine.add(event, error: String(describing: error))
                    quarantined.insert(Array(event.stream.utf8))
                    logger.error(
                        "stream quarantined",
                        metadata: ["projection": "\(projection.name)", "stream": "\(event.stream)", "position": "\(event.position)", "error": "\(error)"])
                }
            }
            return applied
        }
    }

    // MARK: Rebuilds

    /// How a rebuild went.
    package struct RebuildOutcome: Sendable {
        /// Events read: the settled log, then whatever arrived while it was folded.
        package var events: Int
        /// Whether the log was folded in one read (`BulkRebuildable`); false when
        /// the projection cannot, or when that met bad input and it went batch by batch.
        package var folded: Bool
        /// Why the folded rebuild was abandoned, if it was.
        package var fallbackReason: String?
    }

    /// Builds the projection afresh from the whole settled log in shadow
    /// tables and swaps them in (see `ShadowTables`), then applies anything
    /// newer. Readers see the old projection until the swap, then the new one.
    /// A `BulkRebuildable` projection folds the log in one read; if that meets
    /// bad input, the rebuild goes batch by batch instead, quarantining what fails.
    @discardableResult
    package func rebuild(progress: ((Int) -> Void)? = nil) throws -> RebuildOutcome {
        let connection = try leaderConnection(wait: true)
        var fallbackReason: String?
        if let bulk = projection as? any BulkRebuildable {
            do {
                let folded = try rebuildInShadow(on: connection, unindexed: bulk.indexedAfterFill) { horizon in
                    try self.foldLog(bulk, below: horizon, on: connection, progress: progress)
                }
                let newer = try catchUp { progress?(folded + $0) }
                return RebuildOutcome(events: folded + newer, folded: true)
            } catch where FailureClass(of: error) == .badInput {
                fallbackReason = String(describing: error)
                logger.warning(
                    "folded rebuild met bad input; rebuilding batch by batch", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
            }
        }
        let applied = try rebuildInShadow(on: connection) { horizon in
            try self.applyInBatches(below: horizon, on: connection, progress: progress)
        }
        return RebuildOutcome(events: applied + (try catchUp { progress?(applied + $0) }), folded: false, fallbackReason: fallbackReason)
    }

    /// One transaction: fresh tables (`unindexed` ones without indexes until
    /// filled), `fill` up to the horizon, audit records reconciled, the swap,
    /// the checkpoint. No statement or idle limits apply: a large log takes minutes to fold.
    private func rebuildInShadow(
        on connection: PostgresConnection, unindexed: [String] = [], fill: (UInt64) throws -> (cursor: LogCursor, count: Int)
    ) throws -> Int {
        let horizon = try EventLog(connection: connection).horizon()
        return try fenced(connection) {
            try connection.execute("SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0")
            let shadow = ShadowTables(connection: connection, tables: projection.tables, scratch: projection.scratchTables, unindexed: unindexed)
            try shadow.create()
            try ProjectionQuarantine(connection: connection, projection: projection.name).clear()
            let (cursor, count) = try fill(horizon)
            try projection.finishRebuild(in: connection)
            try shadow.swap()
            try ProjectionCheckpoints(connection: connection).restart(projection.name, at: cursor, applied: count)
            return count
        }
    }

    private func foldLog<Bulk: BulkRebuildable>(
        _ bulk: Bulk, below horizon: UInt64, on connection: PostgresConnection, progress: ((Int) -> Void)?
    ) throws -> (cursor: LogCursor, count: Int) {
        var rebuild = bulk.makeRebuild()
        let reader = LogPrefetcher(
            database: configuration.database.forMaintenance, horizon: horizon, pageSize: 10_000, prepare: Bulk.Rebuild.prepare)
        defer { reader.cancel() }
        var cursor = LogCursor.start
        var total = 0
        do {
            while let item = try reader.next() {
                try rebuild.fold(item.page, in: connection)
                cursor = item.last
                total += item.count
                progress?(total)
            }
            try rebuild.finish(in: connection, lastPosition: total > 0 ? cursor.position : nil)
        } catch {
            throw rebuild.abandon(after: error)
        }
        return (cursor, total)
    }

    private func applyInBatches(below horizon: UInt64, on connection: PostgresConnection, progress: ((Int) -> Void)?) throws -> (cursor: LogCursor, count: Int) {
        let log = EventLog(connection: connection)
        var cursor = LogCursor.start
        var total = 0
        while case let events = try log.read(after: cursor, below: horizon, limit: configuration.batchSize), let last = events.last?.cursor {
            _ = try apply(events, on: connection)
            cursor = last
            total += events.count
            progress?(total)
        }
        return (cursor, total)
    }

    // MARK: Operators' requests

    /// Re-applies quarantined streams (all, or those an operator flagged). Returns how many were released.
    @discardableResult
    package func retryQuarantined(onlyRequested: Bool = false) throws -> Int {
        try retry(on: try leaderConnection(wait: true), onlyRequested: onlyRequested)
    }

    /// What `projections retry` and `projections rebuild` asked of the leader.
    private func serveRequests(on connection: PostgresConnection) throws {
        _ = try retry(on: connection, onlyRequested: true)
        if try ProjectionCheckpoints(connection: connection).rebuildRequested(projection.name) {
            logger.info("rebuilding on request", metadata: ["projection": "\(projection.name)"])
            let outcome = try rebuild()
            logger.info("rebuilt", metadata: ["projection": "\(projection.name)", "events": "\(outcome.events)"])
        }
    }

    private func retry(on connection: PostgresConnection, onlyRequested: Bool) throws -> Int {
        let quarantine = ProjectionQuarantine(connection: connection, projection: projection.name)
        var released = 0
        for entry in try quarantine.entries(onlyRequested: onlyRequested) {
            try fenced(connection) {
                let checkpoint = try ProjectionCheckpoints(connection: connection).lockCursor(of: projection.name)
                let events = try EventLog(connection: connection).events(inStream: entry.stream, from: entry.cursor, through: checkpoint)
                do {
                    try connection.savepoint("retry") { try projection.apply(events, in: connection) }
                    try quarantine.release(entry.stream)
                    released += 1
                } catch where FailureClass(of: error) == .badInput {
                    try quarantine.recordFailure(entry.stream, error: String(describing: error))
                }
            }
        }
        return released
    }

    // MARK: Leadership and the connection

    /// A connection to work on while this instance leads the projection, LISTENing for new events.
    /// Standing by (another instance leads) ends with `StopRequested` when stopping.
    private func leaderConnection(wait: Bool = false) throws -> PostgresConnection {
        if let connection, let fence, leadership.fence == fence { return connection }
        if connection != nil {
            logger.warning("lost the projection's leadership; standing by", metadata: ["projection": "\(projection.name)"])
            dropConnection()
        }
        guard let acquired = leadership.acquire(pollEvery: wait ? .milliseconds(250) : configuration.pollInterval, until: stop)
        else { throw StopRequested() }
        // A session frozen inside a transaction holds the checkpoint row a successor needs: bounded like a lock session (rebuilds lift it).
        var database = configuration.database
        database.sessionSettings += [("idle_in_transaction_session_timeout", String(Leadership.idleSessionTimeout.wholeMilliseconds))]
        let candidate: PostgresConnection
        do {
            candidate = try database.connect(application: "callaudit-projection-\(projection.name)")
        } catch {
            leadership.release()
            throw error
        }
        canceller.hold(candidate)
        fence = acquired
        try candidate.execute("LISTEN \(EventStore.notificationChannel)")
        try ProjectionCheckpoints(connection: candidate).register(projection.name)
        logger.info("projection leader", metadata: ["projection": "\(projection.name)", "leadership.epoch": "\(acquired.epoch)"])
        connection = candidate
        return candidate
    }

    /// Ends the working session and gives up leadership with it.
    private func dropConnection() {
        connection = nil
        canceller.hold(nil)
        fence = nil
        leadership.release()
    }

    /// A transaction that commits only while this instance still leads (its epoch is checked last).
    private func fenced<T>(_ connection: PostgresConnection, _ body: () throws -> T) throws -> T {
        try connection.transaction {
            let value = try body()
            try fence?.check(on: connection)
            return value
        }
    }

    /// The advisory-lock key whose holder leads the named projection.
    package static func lockKey(for projection: String) -> String { "callaudit.projection.\(projection)" }

    private var lockKey: String { Self.lockKey(for: projection.name) }

    /// Whether no running instance leads the named projection right now (its advisory lock is free).
    package static func isLeaderless(_ name: String, on connection: PostgresConnection) throws -> Bool {
        let key = PostgresValue.text(lockKey(for: name))
        guard try connection.query("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0))::text", [key]).scalar == "true" else { return false }
        try connection.query("SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended($1, 0))", [key])
        return true
    }

    /// Warns, now and then, when committed events wait behind a transaction
    /// that holds back the horizon longer than the configured threshold.
    private func watchHorizon(on connection: PostgresConnection) throws {
        guard lastHorizonCheck.duration(to: .now) >= .seconds(10) else { return }
        lastHorizonCheck = .now
        let log = EventLog(connection: connection)
        let checkpoint = try ProjectionCheckpoints(connection: connection).cursor(of: projection.name)
        guard try log.countWaiting(after: checkpoint, horizon: try log.horizon()) > 0,
            let holder = try HorizonHolder.oldest(on: connection), holder.age >= configuration.horizonWarning
        else { return }
        logger.warning(
            "projection waits behind an old transaction",
            metadata: [
                "projection": "\(projection.name)", "horizon.pid": "\(holder.pid)", "horizon.application": "\(holder.application)",
                "horizon.state": "\(holder.state)", "horizon.age": "\(holder.age)",
            ])
    }
}

/// Why a projection runner stopped on its own, and what to do.
package struct ProjectionFailure: Error, CustomStringConvertible {
    package var projection: String
    package var error: any Error
    package var remedy: String

    package var description: String { "projection \(projection): \(error): \(remedy)" }
}
