import CallAuditStore

/// Where each projection has read to.
public struct ProjectionCheckpoints {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The projection's cursor, row-locked until the transaction ends, so a reset and a batch serialise.
    func lockCursor(of projection: String) throws -> LogCursor {
        let row = try connection.query(
            "SELECT last_transaction_id::text, last_position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            [.text(projection)]
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

    public struct Status: Sendable {
        public var projection: String
        public var cursor: LogCursor
        public var eventsApplied: Int
        public var updatedAt: String
    }

    public func all() throws -> [Status] {
        try connection.query(
            "SELECT projection, last_transaction_id::text, last_position, events_applied, updated_at::text FROM projection_checkpoints ORDER BY 1"
        ).map { row in
            Status(
                projection: row[0]!, cursor: LogCursor(transactionID: UInt64(row[1]!)!, position: Int64(row[2]!)!),
                eventsApplied: Int(row[3]!)!, updatedAt: row[4]!)
        }
    }

    /// Empties a projection and rewinds it to the start of the log, in one transaction.
    public func reset(_ projection: any Projection) throws {
        try connection.transaction { try rewind(projection) }
    }

    /// `reset` inside the caller's transaction.
    func rewind(_ projection: any Projection) throws {
        _ = try lockCursor(of: projection.name)
        try projection.reset(in: connection)
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1", [.text(projection.name)])
        try move(projection.name, to: .start, applied: 0)
        try connection.query("UPDATE projection_checkpoints SET events_applied = 0 WHERE projection = $1", [.text(projection.name)])
    }
}

/// Streams a projection could not apply, with the event and the error.
public struct ProjectionQuarantine {
    public struct Entry: Sendable {
        public var stream: String
        public var cursor: LogCursor
        public var error: String
        public var quarantinedAt: String
        public var retryRequested: Bool
    }

    public let connection: PostgresConnection
    public let projection: String

    public init(connection: PostgresConnection, projection: String) {
        self.connection = connection
        self.projection = projection
    }

    func streams() throws -> Set<String> {
        Set(try connection.query("SELECT stream FROM projection_quarantine WHERE projection = $1", [.text(projection)]).map { $0[0]! })
    }

    public func entries(onlyRequested: Bool = false) throws -> [Entry] {
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

    func release(_ stream: String) throws {
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1 AND stream = $2", [.text(projection), .text(stream)])
    }

    func recordFailure(_ stream: String, error: String) throws {
        try connection.query(
            "UPDATE projection_quarantine SET error = $3, retry_requested = false WHERE projection = $1 AND stream = $2",
            [.text(projection), .text(stream), .text(error)])
    }

    /// Asks the projection's leader to retry every quarantined stream.
    public func requestRetry() throws -> Int {
        try connection.query("UPDATE projection_quarantine SET retry_requested = true WHERE projection = $1", [.text(projection)]).affectedRows
    }
}
