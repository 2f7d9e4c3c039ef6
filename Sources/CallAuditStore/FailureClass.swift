/// What to do about a failure: one answer, shared by ingest and projections.
///
/// - `badInput`: the data caused it. Ingest dead-letters the event the server
///   named; a projection quarantines the event's stream. Nothing else is touched.
/// - `transient`: the same work will pass later (a lock, a deadlock, a full disk,
///   a failover, a restart). Retry the same batch with capped backoff; never
///   dead-letter, quarantine or skip because of it.
/// - `fatal`: retrying cannot help (a missing privilege, a schema this build does
///   not know, a bug). Stop the service with `remedy`, which says what to fix.
package enum FailureClass: Sendable, Equatable {
    case badInput
    /// `reconnect`: the session itself is unusable (gone, or read-only after a failover).
    case transient(reconnect: Bool)
    case fatal(remedy: String)

    /// Classifies any error met while storing or applying events. Errors that
    /// are not PostgreSQL's come from handling the input itself (an event a
    /// projection cannot fold), so they are bad input.
    /// `LeadershipLost` is transient with a new session: the work is not
    /// this instance's any more, so it drops its sessions and stands by.
    /// A result with the wrong number of columns is schema drift (fatal); a NULL
    /// or unreadable value is bad data, like any other error not PostgreSQL's.
    package init(of error: any Error) {
        if error is LeadershipLost {
            self = .transient(reconnect: true)
            return
        }
        if let decoding = error as? PostgresDecodingError, decoding.isSchemaDrift {
            self = .fatal(remedy: "the database schema does not match this build: run `callaudit migrate`")
            return
        }
        self = (error as? PostgresError)?.failureClass ?? .badInput
    }
}

/// Thrown by retry loops that gave up because the service is stopping; not a failure.
package struct StopRequested: Error, Sendable, CustomStringConvertible {
    package init() {}
    package var description: String { "stopped while waiting to retry" }
}

extension PostgresError {
    package var failureClass: FailureClass {
        switch kind {
        case .connection: return .transient(reconnect: true)
        case .client: return .fatal(remedy: "this is a bug in callaudit; please report it with the log")
        case .server(let state): return Self.classify(sqlState: state)
        }
    }

    /// SQLSTATE classes from PostgreSQL's Appendix A.
    static func classify(sqlState state: String) -> FailureClass {
        switch state {
        // The session is gone or cannot write: reconnect (with target_session_attrs=read-write, to the new primary).
        case "57P01", "57P02", "57P03", "57P05", "25P03", "25006": return .transient(reconnect: true)
        case "57P04": return .fatal(remedy: "the database was dropped: check the database URL")
        case "57014": return .transient(reconnect: false)  // statement timeout or an administrator's cancel
        // CallAudit's own: a key wrapped with a retired KEK (this host's KEK file is out of date). Retried until the file is current.
        case PostgresError.retiredKEK: return .transient(reconnect: false)
        case "55P03", "55006": return .transient(reconnect: false)  // lock not available, object in use
        case "42501":
            return .fatal(remedy: "the service's role lacks a privilege: run `callaudit migrate` as the schema owner and make the login role a member of callaudit_writer")
        case "42P01", "42703", "42883", "42704":
            return .fatal(remedy: "the database schema does not match this build: run `callaudit migrate`")
        case "3D000": return .fatal(remedy: "the database does not exist: check the database URL")
        case "XX001", "XX002": return .fatal(remedy: "PostgreSQL reports corrupted data or index: restore or REINDEX, then restart")
        default: break
        }
        switch state.prefix(2) {
        case "08": return .transient(reconnect: true)  // connection exception
        case "40": return .transient(reconnect: false)  // serialization failure, deadlock
        case "53": return .transient(reconnect: false)  // disk full, out of memory, too many connections
        case "58": return .transient(reconnect: false)  // I/O error
        case "XX": return .transient(reconnect: true)  // internal error: a new session may not meet it
        case "22", "23", "54": return .badInput  // a value the server refuses, or one too large for an index
        case "28": return .fatal(remedy: "PostgreSQL refused the credentials: check the user and password in the database URL")
        default: return .fatal(remedy: "PostgreSQL error \(state) is not one callaudit can recover from: see the log and the PostgreSQL server log")
        }
    }
}

extension PostgresConnection {
    /// Whether to open a new session after `error` instead of reusing this one: it broke, or the
    /// server said only a new one can succeed. A session still open on a server that went
    /// read-only (25006: a demoted primary, or a standby reached without
    /// `target_session_attrs=read-write`) stays "healthy" to libpq, yet every write on it fails
    /// until a new connection finds the new primary.
    package func shouldReplace(after error: any Error) -> Bool {
        !isHealthy || FailureClass(of: error) == .transient(reconnect: true) && error is PostgresError
    }
}
