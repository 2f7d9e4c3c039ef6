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
    /// nil when none is open. Read through the owner's `callaudit_horizon_holder()`,
    /// which sees every session and shows none of their statements.
    package static func oldest(on connection: PostgresConnection) throws -> HorizonHolder? {
        let row = try connection.query("SELECT pid::text, application, state, database, age_seconds FROM callaudit_horizon_holder()")
            .decodeFirst((Int32?, String, String, String, Int64).self)
        return row.map { HorizonHolder(pid: $0, application: $1, state: $2, database: $3, age: .seconds($4)) }
    }

    package var summary: String {
        "\(pid.map { "pid \($0)" } ?? "prepared transaction")\(application.isEmpty ? "" : " (\(application))"), \(state), database \(database), open for \(age.wholeSeconds) s"
    }
}
