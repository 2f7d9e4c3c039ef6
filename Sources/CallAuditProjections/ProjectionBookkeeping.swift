import CallAuditStore

/// Where each projection has read to.
package struct ProjectionCheckpoints {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The projection's cursor, row-locked until the transaction ends, so a rebuild and a batch serialise.
    func lockCursor(of projection: String) throws -> LogCursor {
        let row = try connection.query(
            "SELECT last_transaction_id::text, last_position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            [.text(projection)]
        ).rows.first
        guard let row else { return .start }
        return LogCursor(transactionID: UInt64(row[0]!)!, position: Int64(row[1]!)!)
    }

    /// The projection's cursor, without locking it.
    func cursor(of projection: String) throws -> LogCursor {
        let row = try connection.query(
            "SELECT last_transaction_id::text, last_position FROM projection_checkpoints WHERE projection = $1", [.text(projection)]
        ).rows.first
        guard let row else { return .start }
        return LogCursor(transactionID: UInt64(row[0]!)!, position: Int64(row[1]!)!)
    }

    func move(_ projection: String, to cursor: LogCursor, applied: Int) throws {
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
        ).map { row in
            Status(
                projection: row[0]!, cursor: LogCursor(transactionID: UInt64(row[1]!)!, position: Int64(row[2]!)!),
                eventsApplied: Int(row[3]!)!, updatedAt: row[4]!, rebuildRequested: row[5] == "t")
        }
    }

    /// After a rebuild: the cursor it read to, the events it applied, and any rebuild request served.
    func restart(_ projection: String, at cursor: LogCursor, applied: Int) throws {
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

    /// Asks whichever instance leads the projection to rebuild it.
    package func requestRebuild(_ projection: String) throws {
        try connection.query(
            """
            INSERT INTO projection_checkpoints (projection, rebuild_requested) VALUES ($1, true)
            ON CONFLICT (projection) DO UPDATE SET rebuild_requested = true
            """, [.text(projection)])
    }

    func rebuildRequested(_ projection: String) throws -> Bool {
        try connection.query("SELECT rebuild_requested FROM projection_checkpoints WHERE projection = $1", [.text(projection)]).scalar == "t"
    }
}

/// Streams a projection could not apply, with the event and the error.
package struct ProjectionQuarantine {
    package struct Entry: Sendable {
        package var stream: String
        package var cursor: LogCursor
        package var error: String
        package var quarantinedAt: String
        package var retryRequested: Bool
    }

    package let connection: PostgresConnection
    package let projection: String

    package init(connection: PostgresConnection, projection: String) {
        self.connection = connection
        self.projection = projection
    }

    func streams() throws -> Set<String> {
        Set(try connection.query("SELECT stream FROM projection_quarantine WHERE projection = $1", [.text(projection)]).map { $0[0]! })
    }

    package func entries(onlyRequested: Bool = false) throws -> [Entry] {
        try connection.query(
            """
            SELECT stream, transaction_id::text, position, error, quarantined_at::text, retry_requested
            FROM projection_quarantine WHERE projection = $1 AND (NOT $2 OR retry_requested) ORDER BY quarantined_at
            """, [.text(projection), .text(onlyRequested ? "true" : "false")]
        ).map { row in
            Entry(
                stream: row[0]!, cursor: LogCursor(transactionID: UInt64(row[1]!)!, position: Int64(row[2]!)!),
                error: row[3]!, quarantinedAt: row[4]!, retryRequested: row[5] == "t")
        }
    }

    func add(_ event: StoredEvent, error: String) throws {
        try connection.query(
            """
            INSERT INTO projection_quarantine (projection, stream, transaction_id, position, error)
            VALUES ($1, $2, $3::xid8, $4, $5) ON CONFLICT DO NOTHING
            """,
            [.text(projection), .text(event.stream), .text(String(event.cursor.transactionID)), .int(event.position), .text(error)])
    }

    /// Forgets every quarantined stream, for a rebuild that judges them all again.
    func clear() throws {
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1", [.text(projection)])
    }

    func release(_ stream: String) throws {
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1 AND stream = $2", [.text(projection), .text(stream)])
    }

    func recordFailure(_ stream: String, error: String) throws {
        try connection.query(
            "UPDATE projection_quarantine SET error = $3, retry_requested = false WHERE projection = $1 AND stream = $2",
            [.text(projection), .text(stream), .text(error)])
    }

    /// Asks the projection's leader to retry every quarantined stream.
    package func requestRetry() throws -> Int {
        try connection.query("UPDATE projection_quarantine SET retry_requested = true WHERE projection = $1", [.text(projection)]).affectedRows
    }
}
