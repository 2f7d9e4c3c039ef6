/// Where each projection has read to (`projection_checkpoints`).
///
/// Kept here, beside the log the cursors point into, rather than with the
/// projections: the runner moves them, and the read side reports them
/// without depending on the projections' code.
package struct ProjectionCheckpoints {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Gives `projection` a checkpoint at the start of the log, unless it has one.
    package func register(_ projection: String) throws {
        try connection.query("INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING", [.text(projection)])
    }

    /// The projection's cursor, row-locked until the transaction ends, so a rebuild and a batch serialise.
    package func lockCursor(of projection: String) throws -> LogCursor {
        try connection.query(
            "SELECT last_transaction_id::text, last_position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            [.text(projection)]
        ).decodeFirst((UInt64, Int64).self).map { LogCursor(transactionID: $0, position: $1) } ?? .start
    }

    /// The projection's cursor, without locking it.
    package func cursor(of projection: String) throws -> LogCursor {
        try connection.query(
            "SELECT last_transaction_id::text, last_position FROM projection_checkpoints WHERE projection = $1", [.text(projection)]
        ).decodeFirst((UInt64, Int64).self).map { LogCursor(transactionID: $0, position: $1) } ?? .start
    }

    package func move(_ projection: String, to cursor: LogCursor, applied: Int) throws {
        try connection.query(
            """
            INSERT INTO projection_checkpoints (projection, last_transaction_id, last_position, events_applied, updated_at)
            VALUES ($1, $2::xid8, $3, $4, now())
            ON CONFLICT (projection) DO UPDATE SET last_transaction_id = excluded.last_transaction_id,
                last_position = excluded.last_position, updated_at = now(),
                events_applied = projection_checkpoints.events_applied + excluded.events_applied
            """,
            [.text(projection), .text(String(cursor.transactionID)), .int(cursor.position), .int(applied)])
    }

    package struct Status: Sendable {
        package var projection: String
        package var cursor: LogCursor
        package var eventsApplied: Int
        package var updatedAt: String
        package var rebuildRequested: Bool
    }

    package func all() throws -> [Status] {
        try connection.query(
            "SELECT projection, last_transaction_id::text, last_position, events_applied, updated_at::text, rebuild_requested FROM projection_checkpoints ORDER BY 1"
        ).decode((String, UInt64, Int64, Int, String, Bool).self).map { projection, transactionID, position, applied, updatedAt, rebuild in
            Status(
                projection: projection, cursor: LogCursor(transactionID: transactionID, position: position),
                eventsApplied: applied, updatedAt: updatedAt, rebuildRequested: rebuild)
        }
    }

    /// After a rebuild: the cursor it read to, the events it applied, and any rebuild request served.
    package func restart(_ projection: String, at cursor: LogCursor, applied: Int) throws {
        try connection.query(
            """
            INSERT INTO projection_checkpoints (projection, last_transaction_id, last_position, events_applied, rebuild_requested, updated_at)
            VALUES ($1, $2::xid8, $3, $4, false, now())
            ON CONFLICT (projection) DO UPDATE SET last_transaction_id = excluded.last_transaction_id,
                last_position = excluded.last_position, events_applied = excluded.events_applied, rebuild_requested = false,
                updated_at = now()
            """,
            [.text(projection), .text(String(cursor.transactionID)), .int(cursor.position), .int(applied)])
    }

    /// The lowest position these projections have read to (0 when one never moved): a reader of
    /// several read models sees everything up to it in all of them.
    package func lowestPosition(of projections: [String]) throws -> Int64 {
        try connection.query(
            "SELECT coalesce(min(last_position), 0) FROM projection_checkpoints WHERE projection = ANY($1::text[])",
            [.text(postgresArrayLiteral(projections))]
        ).decodeScalar(Int64.self)
    }

    /// Asks whichever instance leads the projection to rebuild it.
    package func requestRebuild(_ projection: String) throws {
        try connection.query(
            """
            INSERT INTO projection_checkpoints (projection, rebuild_requested) VALUES ($1, true)
            ON CONFLICT (projection) DO UPDATE SET rebuild_requested = true
            """, [.text(projection)])
    }

    package func rebuildRequested(_ projection: String) throws -> Bool {
        try connection.query("SELECT rebuild_requested FROM projection_checkpoints WHERE projection = $1", [.text(projection)])
            .decodeFirst(Bool.self) ?? false
    }
}
