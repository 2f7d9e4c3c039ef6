/// The transaction that holds back the projections' horizon: the oldest one
/// still in flight anywhere in the cluster (`pg_snapshot_xmin`). Until it
/// ends, no event committed after it started can be read by a projection.
package struct HorizonHolder: Sendable, Equatable {
    /// The backend's process id, or nil for a prepared (two-phase) transaction.
    package var pid: Int32?
    package var application: String
    /// `idle in transaction`, `active`, or `prepared` with its global id.
    package var state: String
    package var database: String
    /// How long its transaction has been open.
    package var age: Duration

    /// The oldest transaction with an id, sessions and prepared transactions alike;
    /// nil when none is open. Other roles' sessions show only with `pg_read_all_stats`.
    package static func oldest(on connection: PostgresConnection) throws -> HorizonHolder? {
        let row = try connection.query(
            """
            SELECT pid, application, state, database, age_seconds FROM (
                SELECT pid::text, coalesce(application_name, '') AS application, coalesce(state, '') AS state,
                       coalesce(datname, '') AS database,
                       extract(epoch FROM now() - xact_start)::bigint AS age_seconds, age(backend_xid) AS xid_age
                FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
                UNION ALL
                SELECT NULL, '', 'prepared ' || gid, database, extract(epoch FROM now() - prepared)::bigint, age(transaction)
                FROM pg_prepared_xacts
            ) open ORDER BY xid_age DESC LIMIT 1
            """
        ).rows.first
        guard let row else { return nil }
        return HorizonHolder(
            pid: row[0].flatMap { Int32($0) }, application: row[1]!, state: row[2]!, database: row[3]!,
            age: .seconds(Int64(row[4] ?? "0") ?? 0))
    }

    package var summary: String {
        "\(pid.map { "pid \($0)" } ?? "prepared transaction")\(application.isEmpty ? "" : " (\(application))"), \(state), database \(database), open for \(age.wholeSeconds) s"
    }
}
