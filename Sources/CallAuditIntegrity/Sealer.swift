import CallAuditDomain
import CallAuditRuntime
import CallAuditSigning
import CallAuditStore
import Foundation
import Logging

/// When the sealer seals: at least every `interval`, or as soon as `maxEvents` wait.
package struct SealSchedule: Sendable {
    /// Longest time a settled event stays unsealed. Default 10 s.
    package var interval: Duration
    /// Most events in one seal; a backlog this large is sealed at once. Default 10,000.
    package var maxEvents: Int

    package init(interval: Duration = .seconds(10), maxEvents: Int = 10_000) {
        self.interval = interval
        self.maxEvents = maxEvents
    }
}

/// Extends the seal chain over settled events.
///
/// Events are sealed in the projections' gap-safe order and only below the
/// horizon (`pg_snapshot_xmin`), so an event committed late by a slow
/// transaction can never land inside a range already sealed. One transaction
/// per seal, under a transaction-level advisory lock: any number of sealers
/// (every `serve`, and report generation) can run, and the chain stays one.
package struct Sealer {
    package let connection: PostgresConnection
    package let schedule: SealSchedule

    package init(connection: PostgresConnection, schedule: SealSchedule = SealSchedule()) {
        self.connection = connection
        self.schedule = schedule
    }

    /// Seals what is due: full seals of `maxEvents` while a backlog lasts, then
    /// the rest if the newest seal is older than `interval`, or `force`.
    @discardableResult
    package func sealDue(key: SigningKey, force: Bool = false, now: @autoclosure () -> Timestamp = .now) throws -> [Seal] {
        var unsealed: SealLeaves?
        return try sealDue(key: key, carrying: &unsealed, force: force, now: now())
    }

    /// `sealDue`, for a sealer that runs round after round: `unsealed` holds
    /// the settled events read but not yet sealed, kept for the next round, which
    /// then reads only what settled since (nil: read from the newest seal's end).
    @discardableResult
    package func sealDue(
        key: SigningKey, carrying unsealed: inout SealLeaves?, force: Bool = false, now: @autoclosure () -> Timestamp = .now
    ) throws -> [Seal] {
        var made: [Seal] = []
        while let seal = try sealOne(key: key, carrying: &unsealed, force: force, now: now()) {
            made.append(seal)
            if seal.eventCount < schedule.maxEvents { break }
        }
        return made
    }

    private func sealOne(key: SigningKey, carrying unsealed: inout SealLeaves?, force: Bool, now: Timestamp) throws -> Seal? {
        try connection.transaction {
            try connection.execute("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('callaudit.seals', 0))")
            let store = SealStore(connection: connection)
            let previous = try store.head()
            // Under the lock the head is final: events kept from a round before
            // still count only if no other sealer has sealed past them since.
            // Taken, not copied: appending to a shared buffer would copy it whole.
            var events = unsealed.take().flatMap { $0.follow(previous) ? $0 : nil } ?? SealLeaves(after: previous, capacity: schedule.maxEvents)
            let wanted = schedule.maxEvents - events.count
            if wanted > 0 {
                let log = EventLog(connection: connection)
                try log.forEachContentHash(after: events.through, below: try log.horizon(), limit: wanted) { cursor, contentHash in
                    try events.append(cursor, contentHash: contentHash)
                }
            }
            unsealed = events
            guard !events.isEmpty else { return nil }
            let full = events.count >= schedule.maxEvents
            let stale = previous.map { $0.sealedAt.adding(schedule.interval) <= now } ?? true
            guard full || stale || force else { return nil }
            let seal = try Seal.make(after: previous, events: events, at: now, key: key)
            try store.insert(seal)
            // Sealed once this commits; if it does not, the next round sees the old head and reads them again.
            unsealed = nil
            return seal
        }
    }
}

/// The sealer as a service of `serve`: seals what is due every second, until stopped.
package final class SealerService: Sendable {
    private let database: DatabaseConfiguration
    private let schedule: SealSchedule
    private let keyDirectory: URL
    private let logger: Logger
    private let stop = StopSignal()
    private let canceller = CancelSlot()
    /// No grace: a seal round cut short is sealed whole by the next round.
    private let cancellation: ShutdownCancellation

    package init(database: DatabaseConfiguration, schedule: SealSchedule, keyDirectory: URL, logger: Logger) {
        // A seal commits at the level of CallAudit's own records (`--synchronous-commit`, default
        // `on`), never `off`: `/v1/seals` serves it as soon as it commits, and a seal a crash or a
        // failover lost would be signed again under the same number with other contents, a fork
        // of the chain that whoever read the first one could show. Its events commit before it,
        // so a standby that has the seal has them too.
        self.database = database
        self.schedule = schedule
        self.keyDirectory = keyDirectory
        self.logger = logger
        cancellation = ShutdownCancellation(grace: .zero, slots: [canceller])
    }

    package func requestStop() {
        guard stop.signal() else { return }
        cancellation.begin()
    }

    /// Runs until `requestStop`. Failures are logged and retried next round: a
    /// missed round only delays a seal, and the next one covers the same events.
    package func run() {
        var session: Session?
        defer {
            canceller.hold(nil)
            cancellation.end()
        }
        while !stop.isSignalled {
            do {
                var current = try session ?? openSession()
                defer { session = current }
                // Read each round: a `keys rotate` takes effect without a restart.
                let key = try KeyRing.open(keyDirectory).current
                let made = try Sealer(connection: current.connection, schedule: schedule).sealDue(key: key, carrying: &current.unsealed)
                if let last = made.last {
                    logger.debug("sealed", metadata: ["seal.no": "\(last.sealNo)", "seal.events": "\(made.reduce(0) { $0 + $1.eventCount })"])
                }
            } catch {
                if let connection = session?.connection, connection.shouldReplace(after: error) { session = nil }
                if !stop.isSignalled {
                    logger.warning("sealing failed; retrying next round", metadata: ["error": "\(error)"])
                }
            }
            stop.wait(for: .seconds(1))
        }
    }

    /// A session, with the settled events read on it but not yet due for a
    /// seal (each read and hashed once). They live and die with the session:
    /// after a failover the new primary may lack events the old one had, and
    /// a seal over them would fork the chain.
    private struct Session {
        let connection: PostgresConnection
        var unsealed: SealLeaves?
    }

    private func openSession() throws -> Session {
        let connection = try database.connect(application: "callaudit-sealer")
        canceller.hold(connection)
        return Session(connection: connection, unsealed: nil)
    }
}
