/// The log's transaction ids: this cluster's, plus a shift that keeps them
/// above every id the log already holds after a restore onto another cluster
/// (migration 0012, `log_clock`).
///
/// A logical restore carries the old cluster's ids in the events, checkpoints
/// and seals; the new cluster's own ids start low. Until `callaudit migrate`
/// (as the owner) raises the shift, every new event would sort before every
/// checkpoint and seal: `serve` refuses to start, and `verify-store` and
/// `projections status` say so instead of answering from a wrong order.
package enum LogClock {
    /// The id the log holds that this cluster's clock has not reached, or nil
    /// when the clock is ahead of everything the log remembers.
    package static func behind(on connection: PostgresConnection) throws -> UInt64? {
        try connection.query("SELECT callaudit_log_clock_behind()::text").decodeScalar(UInt64?.self)
    }

    /// The shift added to this cluster's ids.
    package static func shift(on connection: PostgresConnection) throws -> Int64 {
        try connection.query("SELECT shift FROM log_clock").decodeScalar(Int64.self)
    }

    /// The last time the clock was moved on, if ever: the shift, the highest id the log held then, and when.
    package static func lastRebase(on connection: PostgresConnection) throws -> (shift: Int64, above: UInt64, at: String)? {
        try connection.query("SELECT shift, rebased_above::text, rebased_at::text FROM log_clock WHERE rebased_at IS NOT NULL")
            .decodeFirst((Int64, UInt64, String).self).map { (shift: $0, above: $1, at: $2) }
    }

    /// As the owner: raises the shift when the log holds ids the cluster has
    /// not reached; the new shift, or nil when none was needed.
    package static func rebase(on connection: PostgresConnection) throws -> Int64? {
        try connection.transaction {
            try connection.query("SELECT callaudit_log_clock_rebase()::text").decodeScalar(Int64?.self)
        }
    }

    /// What to tell an operator whose store is behind: what happened and the fix.
    package static func behindMessage(_ top: UInt64) -> String {
        "the log holds transaction id \(top), which this PostgreSQL cluster has not reached: the database was restored "
            + "from another cluster and its clock was not moved on (new events would sort before every checkpoint and seal). "
            + "Run `callaudit migrate` as the schema owner: it moves the log's clock past \(top) "
            + "(ops/runbooks/restore-and-verify.md)"
    }
}
