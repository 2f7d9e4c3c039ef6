import CallAuditDomain
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who leads one piece of work across every instance (ingest of a consumer
/// group, one projection, the report scheduler), and the proof a leader's
/// writes carry that it still does.
///
/// **Leadership** is a session advisory lock on a session of its own. That
/// session is made to die quickly when its process cannot use it:
/// - the server ends it after `idleSessionTimeout` without a statement
///   (`idle_session_timeout`), and a heartbeat thread sends one every
///   `heartbeatInterval` while the process runs. A frozen process (SIGSTOP, a
///   paused VM) still answers TCP keepalives from its kernel, so only this
///   notices it: its lock is free within `idleSessionTimeout`;
/// - the server's own TCP keepalives and `tcp_user_timeout` drop it when the
///   host is gone. The client's keepalives only close the client's end.
///
/// **Fencing.** Taking the lock bumps the name's epoch in `leaderships`; each
/// transaction a leader commits calls `LeadershipFence.check` just before its
/// COMMIT, which reads the row FOR SHARE and rolls the transaction back with
/// `LeadershipLost` when the epoch moved on. A frozen leader that resumes
/// after a successor took over therefore commits nothing, whatever it had in
/// flight. Only the holder of the lock ever bumps the epoch.
package final class Leadership: @unchecked Sendable {
    /// The server ends a lock session idle this long: the longest a frozen leader keeps its lock.
    package static let idleSessionTimeout: Duration = .seconds(15)
    /// How often the heartbeat thread touches the lock session.
    package static let heartbeatInterval: Duration = .seconds(2)

    package let name: String
    private let database: DatabaseConfiguration
    private let application: String
    private let logger: Logger
    private let holder: String
    private let lock = NSLock()
    private var session: PostgresConnection?
    private var held: LeadershipFence?
    private let closed = Atomic<Bool>(false)

    /// `name` is the advisory lock's key (`callaudit.ingest.<group>`, `callaudit.projection.<name>`, `callaudit.reports`).
    package init(name: String, database: DatabaseConfiguration, application: String, logger: Logger) {
        self.name = name
        self.database = Self.lockSessionConfiguration(database)
        self.application = application
        self.logger = logger
        self.holder = String("\(ProcessInfo.processInfo.hostName) pid \(getpid()) \(application)".prefix(200))
        let thread = Thread { [weak self] in
            while Leadership.beat(self) { Thread.sleep(forTimeInterval: Leadership.heartbeatInterval.inSeconds) }
        }
        thread.name = "callaudit-leadership-heartbeat"
        thread.start()
    }

    deinit { closed.store(true, ordering: .relaxed) }

    /// The server-side limits of a lock session: its idle limit, and TCP
    /// keepalives and a user timeout of the server's own, so a dead host's
    /// lock is freed within 20 s whatever the kernel defaults are (2 h).
    /// Epochs commit locally (`forDerivedRecords`): a bump a failover loses is harmless, since every
    /// session of the old primary died with it, and a lock session must never wait for a standby.
    package static func lockSessionConfiguration(_ database: DatabaseConfiguration) -> DatabaseConfiguration {
        var copy = database.forDerivedRecords
        let idle = String(idleSessionTimeout.wholeMilliseconds)
        copy.sessionSettings += [
            ("idle_session_timeout", idle), ("idle_in_transaction_session_timeout", idle),
            ("tcp_keepalives_idle", "5"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
            ("tcp_user_timeout", "20000"),
        ]
        return copy
    }

    /// The fence of the leadership held now; nil while standing by or once it was lost.
    package var fence: LeadershipFence? { lock.withLock { held } }

    /// One attempt: the fence if this process now leads (it may already have), nil if another instance does.
    package func tryAcquire() throws -> LeadershipFence? {
        try lock.withLock {
            if let held { return held }
            do {
                let session = try self.session ?? database.connect(application: application)
                self.session = session
                guard try session.query("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0))::text", [.text(name)]).scalar == "true"
                else { return nil }
                // Only the lock's holder bumps the epoch: the owner's function checks the lock is this session's.
                let epoch = try session.query("SELECT callaudit_take_leadership($1, $2)", [.text(name), .text(holder)]).scalar.flatMap(Int64.init)
                guard let epoch else { throw PostgresError(kind: .client, message: "the leadership epoch was not returned") }
                held = LeadershipFence(name: name, epoch: epoch)
                logger.info("leads", metadata: ["leadership": "\(name)", "leadership.epoch": "\(epoch)"])
                return held
            } catch {
                // Ending the session frees the lock, if it was taken before the bump failed.
                session = nil
                throw error
            }
        }
    }

    /// Blocks until this process leads (its fence), or until `shouldStop` (nil).
    /// Failures to reach PostgreSQL are logged and retried.
    package func acquire(pollEvery interval: Duration = .milliseconds(250), shouldStop: () -> Bool) -> LeadershipFence? {
        var standingBy = false
        while !shouldStop() {
            do {
                if let fence = try tryAcquire() { return fence }
                if !standingBy {
                    logger.info("another instance leads; standing by", metadata: ["leadership": "\(name)"])
                    standingBy = true
                }
            } catch {
                logger.warning("cannot reach PostgreSQL for the leadership lock; retrying", metadata: ["leadership": "\(name)", "error": "\(error)"])
            }
            let deadline = ContinuousClock.now + interval
            while !shouldStop(), ContinuousClock.now < deadline { usleep(20_000) }
        }
        return nil
    }

    /// Whether leadership is still held: its session answers now. Once lost, it stays lost until acquired again.
    package func isHeld() -> Bool {
        lock.withLock {
            guard held != nil else { return false }
            touch()
            return held != nil
        }
    }

    /// Gives leadership up by ending the lock session.
    package func release() {
        lock.withLock {
            held = nil
            session = nil
        }
    }

    /// Under `lock`: one statement on the lock session; on failure, the session and the leadership are gone.
    private func touch() {
        guard let session else { return }
        do {
            _ = try session.query("SELECT 1")
        } catch {
            if let held {
                logger.warning(
                    "lost leadership with its PostgreSQL session", metadata: ["leadership": "\(name)", "leadership.epoch": "\(held.epoch)", "error": "\(error)"])
            }
            self.session = nil
            held = nil
        }
    }

    /// One heartbeat; false once the leadership object is gone or closed.
    private static func beat(_ leadership: Leadership?) -> Bool {
        guard let leadership, !leadership.closed.load(ordering: .relaxed) else { return false }
        leadership.lock.withLock { leadership.touch() }
        return true
    }

    /// Who leads each name now, by the epochs table (for status pages and `projections status`).
    package static func current(on connection: PostgresConnection) throws -> [LeadershipRecord] {
        try connection.query(
            "SELECT name, epoch, holder, to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM leaderships ORDER BY name"
        ).rows.map { LeadershipRecord(name: $0[0]!, epoch: Int64($0[1]!)!, holder: $0[2]!, acquiredAt: $0[3]!) }
    }
}

/// The last recorded taking of one leadership.
package struct LeadershipRecord: Sendable, Equatable {
    package var name: String
    package var epoch: Int64
    package var holder: String
    package var acquiredAt: String
}

/// A leader's proof of leadership, checked inside each transaction it commits.
package struct LeadershipFence: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    package let epoch: Int64

    package init(name: String, epoch: Int64) {
        self.name = name
        self.epoch = epoch
    }

    /// Inside the caller's open transaction, just before COMMIT: throws
    /// `LeadershipLost` (the caller rolls back) unless the epoch is still
    /// ours. The row stays share-locked until COMMIT, so no successor's bump
    /// can slip in between.
    package func check(on connection: PostgresConnection) throws {
        let current = try connection.query("SELECT callaudit_leadership_epoch($1)", [.text(name)]).scalar.flatMap(Int64.init)
        guard current == epoch else { throw LeadershipLost(name: name, epoch: epoch, current: current) }
    }

    package var description: String { "\(name) epoch \(epoch)" }
}

/// A leader's transaction was refused: another instance took over since (a newer epoch).
/// Not a failure of the service: the process stands by again.
package struct LeadershipLost: Error, Sendable, CustomStringConvertible {
    package let name: String
    package let epoch: Int64
    package let current: Int64?

    package var description: String {
        "\(name): this instance led at epoch \(epoch), now \(current.map(String.init) ?? "none"); its transaction was rolled back"
    }
}
