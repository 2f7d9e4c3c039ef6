import CallAuditDomain
import CallAuditStore
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
/// **Fencing** (`LeadershipFence`, in CallAuditStore). Taking the lock bumps the name's epoch in `leaderships`; each
/// transaction a leader commits calls `LeadershipFence.check` just before its
/// COMMIT, which reads the row FOR SHARE and rolls the transaction back with
/// `LeadershipLost` when the epoch moved on. A frozen leader that resumes
/// after a successor took over therefore commits nothing, whatever it had in
/// flight. Only the holder of the lock ever bumps the epoch.
package final class Leadership: Sendable {
    /// The server ends a lock session idle this long: the longest a frozen leader keeps its lock.
    package static let idleSessionTimeout: Duration = .seconds(15)
    /// How often the heartbeat thread touches the lock session.
    package static let heartbeatInterval: Duration = .seconds(2)

    /// The lock session and the fence taken on it; every statement on the session runs under this lock.
    private struct State {
        var session: PostgresConnection?
        var held: LeadershipFence?
    }

    package let name: String
    private let database: DatabaseConfiguration
    private let application: String
    private let logger: Logger
    private let holder: String
    private let state = Mutex(State())
    /// Ends the heartbeat thread when this object goes.
    private let closed = StopSignal()

    /// `name` is the advisory lock's key (`callaudit.ingest.<group>`, `callaudit.projection.<name>`, `callaudit.reports`).
    package init(name: String, database: DatabaseConfiguration, application: String, logger: Logger) {
        self.name = name
        self.database = Self.lockSessionConfiguration(database)
        self.application = application
        self.logger = logger
        self.holder = String("\(ProcessInfo.processInfo.hostName) pid \(getpid()) \(application)".prefix(200))
        let closed = closed
        let thread = Thread { [weak self] in
            while !closed.wait(for: Leadership.heartbeatInterval), let leadership = self { leadership.beat() }
        }
        thread.name = "callaudit-leadership-heartbeat"
        thread.start()
    }

    deinit { closed.signal() }

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
    package var fence: LeadershipFence? { state.withLock { $0.held } }

    /// One attempt: the fence if this process now leads (it may already have), nil if another instance does.
    package func tryAcquire() throws -> LeadershipFence? {
        try state.withLock { state in
            if let held = state.held { return held }
            do {
                let session = try state.session ?? database.connect(application: application)
                state.session = session
                guard try session.query("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0))::text", [.text(name)]).scalar == "true"
                else { return nil }
                // Only the lock's holder bumps the epoch: the owner's function checks the lock is this session's.
                let epoch = try session.query("SELECT callaudit_take_leadership($1, $2)", [.text(name), .text(holder)]).scalar.flatMap(Int64.init)
                guard let epoch else { throw PostgresError(kind: .client, message: "the leadership epoch was not returned") }
                let fence = LeadershipFence(name: name, epoch: epoch)
                state.held = fence
                logger.info("leads", metadata: ["leadership": "\(name)", "leadership.epoch": "\(epoch)"])
                return fence
            } catch {
                // Ending the session frees the lock, if it was taken before the bump failed.
                state.session = nil
                throw error
            }
        }
    }

    /// Blocks until this process leads (its fence), or until `stop` (nil).
    /// Failures to reach PostgreSQL are logged and retried.
    package func acquire(pollEvery interval: Duration = .milliseconds(250), until stop: StopSignal) -> LeadershipFence? {
        var standingBy = false
        while !stop.isSignalled {
            do {
                if let fence = try tryAcquire() { return fence }
                if !standingBy {
                    logger.info("another instance leads; standing by", metadata: ["leadership": "\(name)"])
                    standingBy = true
                }
            } catch {
                logger.warning("cannot reach PostgreSQL for the leadership lock; retrying", metadata: ["leadership": "\(name)", "error": "\(error)"])
            }
            stop.wait(for: interval)
        }
        return nil
    }

    /// Whether leadership is still held: its session answers now. Once lost, it stays lost until acquired again.
    package func isHeld() -> Bool {
        state.withLock { state in
            guard state.held != nil else { return false }
            touch(&state)
            return state.held != nil
        }
    }

    /// Gives leadership up: unlocks, then ends the lock session.
    /// Hanging up alone frees the lock only once the server's backend has exited, after the
    /// client has gone on; a standby trying in that gap would be refused. Unlocking first
    /// frees it before this returns. If the session cannot answer, hanging up is all there is.
    package func release() {
        state.withLock { state in
            if state.held != nil, let session = state.session {
                _ = try? session.query("SELECT pg_catalog.pg_advisory_unlock_all()")
            }
            state.held = nil
            state.session = nil
        }
    }

    /// One heartbeat: a statement on the lock session, so the server's idle limit ends it only when this process is frozen.
    private func beat() {
        state.withLock { touch(&$0) }
    }

    /// Under the lock: one statement on the lock session; on failure, the session and the leadership are gone.
    private func touch(_ state: inout State) {
        guard let session = state.session else { return }
        do {
            _ = try session.query("SELECT 1")
        } catch {
            if let held = state.held {
                logger.warning(
                    "lost leadership with its PostgreSQL session", metadata: ["leadership": "\(name)", "leadership.epoch": "\(held.epoch)", "error": "\(error)"])
            }
            state.session = nil
            state.held = nil
        }
    }

    /// Who leads each name now, by the epochs table (for status pages and `projections status`).
    package static func current(on connection: PostgresConnection) throws -> [LeadershipRecord] {
        try connection.query(
            "SELECT name, epoch, holder, to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM leaderships ORDER BY name"
        ).decode((String, Int64, String, String).self).map { LeadershipRecord(name: $0, epoch: $1, holder: $2, acquiredAt: $3) }
    }
}
