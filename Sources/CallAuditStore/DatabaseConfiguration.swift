import CallAuditDomain

/// Where PostgreSQL is, and how the service's own sessions behave there.
///
/// The operator's connection string wins over every libpq parameter set
/// here (keepalives, timeouts, application name), so a URI with
/// `?keepalives_idle=5` means what libpq documents.
package struct DatabaseConfiguration: Sendable {
    /// A libpq URI or `key=value` string; empty means libpq's `PG*` variables and defaults.
    package var url: String
    /// The server cancels a statement running longer (SQLSTATE 57014, retried as
    /// transient). Default 60 s; zero means no limit.
    package var statementTimeout: Duration
    /// The server ends a session left idle inside a transaction this long. Default 60 s; zero means no limit.
    package var idleInTransactionTimeout: Duration
    /// TCP keepalive: first probe after this much silence. Default 30 s.
    package var keepalivesIdle: Duration
    /// TCP keepalive: between probes. Default 10 s.
    package var keepalivesInterval: Duration
    /// TCP keepalive: unanswered probes before the connection is dropped. Default 3.
    package var keepalivesCount: Int
    /// Data sent but unacknowledged this long drops the connection (`tcp_user_timeout`), so a
    /// half-open connection cannot block a writer forever. Default 30 s.
    package var tcpUserTimeout: Duration
    /// Longest wait for a connection to open. Default 10 s.
    package var connectTimeout: Duration

    package init(
        url: String = "",
        statementTimeout: Duration = .seconds(60),
        idleInTransactionTimeout: Duration = .seconds(60),
        keepalivesIdle: Duration = .seconds(30),
        keepalivesInterval: Duration = .seconds(10),
        keepalivesCount: Int = 3,
        tcpUserTimeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10)
    ) {
        self.url = url
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.keepalivesIdle = keepalivesIdle
        self.keepalivesInterval = keepalivesInterval
        self.keepalivesCount = keepalivesCount
        self.tcpUserTimeout = tcpUserTimeout
        self.connectTimeout = connectTimeout
    }

    /// More session settings (`SET name = value` at connect), applied after the ones above.
    package var sessionSettings: [(String, String)] = []

    /// `synchronous_commit` for what CallAudit writes itself and nothing else could give back (subject
    /// requests and erasures, report read records, seals, issued reports, API tokens): with
    /// `synchronous_standby_names` set on the primary, such a commit is acknowledged only once a
    /// standby has it, so a failover cannot lose it. Default `on`.
    package var synchronousCommit: SynchronousCommit = .on
    /// `synchronous_commit` for what can be had again: batches of Kafka events (their positions
    /// commit with them, so a batch a failover loses is read again) and what projections derive
    /// from the log. Default `local`: ingest never waits for a standby.
    package var derivedSynchronousCommit: SynchronousCommit = .local

    /// The sessions of ingest and the projections, which write only what Kafka or the log can give again.
    package var forDerivedRecords: DatabaseConfiguration {
        var copy = self
        copy.synchronousCommit = derivedSynchronousCommit
        return copy
    }

    /// The same server for long maintenance work (a rebuild holds one
    /// transaction open while it folds the log): no statement or idle limits.
    package var forMaintenance: DatabaseConfiguration {
        var copy = self
        copy.statementTimeout = .zero
        copy.idleInTransactionTimeout = .zero
        return copy
    }

    /// Opens a session; `application` names it in `pg_stat_activity` (e.g. `callaudit-ingest`).
    package func connect(application: String = "callaudit") throws(PostgresError) -> PostgresConnection {
        try PostgresConnection(
            conninfo: url,
            parameters: [
                ("application_name", application),
                ("connect_timeout", String(max(connectTimeout.wholeSeconds, 1))),
                ("keepalives", "1"),
                ("keepalives_idle", String(max(keepalivesIdle.wholeSeconds, 1))),
                ("keepalives_interval", String(max(keepalivesInterval.wholeSeconds, 1))),
                ("keepalives_count", String(keepalivesCount)),
                ("tcp_user_timeout", String(tcpUserTimeout.wholeMilliseconds)),
            ],
            session: [
                ("statement_timeout", String(statementTimeout.wholeMilliseconds)),
                ("idle_in_transaction_session_timeout", String(idleInTransactionTimeout.wholeMilliseconds)),
                ("synchronous_commit", synchronousCommit.rawValue),
            ] + sessionSettings)
    }
}

/// PostgreSQL's `synchronous_commit` levels, weakest first.
package enum SynchronousCommit: String, Sendable, CaseIterable, LosslessStringConvertible {
    case off, local
    case remoteWrite = "remote_write"
    case on
    case remoteApply = "remote_apply"

    package init?(_ description: String) { self.init(rawValue: description) }
    package var description: String { rawValue }

    /// Levels that wait for the local disk at least: a commit acknowledged at `off` can vanish
    /// in a crash of PostgreSQL alone, which CallAudit's own records must not.
    package var isDurableLocally: Bool { self != .off }
}
