/// Streams a projection could not apply (`projection_quarantine`), with the event and the error.
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

    /// The quarantined streams, as stored: a `Set<String>` here would take two canonically
    /// equivalent names ("é" and "e" + U+0301) for one, which the table keeps apart by bytes.
    package func streams() throws -> [String] {
        try connection.query("SELECT stream FROM projection_quarantine WHERE projection = $1", [.text(projection)]).decode(String.self)
    }

    package func entries(onlyRequested: Bool = false) throws -> [Entry] {
        try connection.query(
            """
            SELECT stream, transaction_id::text, position, error, quarantined_at::text, retry_requested
            FROM projection_quarantine WHERE projection = $1 AND (NOT $2 OR retry_requested) ORDER BY quarantined_at
            """, [.text(projection), .text(onlyRequested ? "true" : "false")]
        ).decode((String, UInt64, Int64, String, String, Bool).self).map { stream, transactionID, position, error, since, retry in
            Entry(
                stream: stream, cursor: LogCursor(transactionID: transactionID, position: position),
                error: error, quarantinedAt: since, retryRequested: retry)
        }
    }

    package func add(_ event: StoredEvent, error: String) throws {
        try connection.query(
            """
            INSERT INTO projection_quarantine (projection, stream, transaction_id, position, error)
            VALUES ($1, $2, $3::xid8, $4, $5) ON CONFLICT DO NOTHING
            """,
            [.text(projection), .text(event.stream), .text(String(event.cursor.transactionID)), .int(event.position), .text(error)])
    }

    /// Forgets every quarantined stream, for a rebuild that judges them all again.
    package func clear() throws {
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1", [.text(projection)])
    }

    package func release(_ stream: String) throws {
        try connection.query("DELETE FROM projection_quarantine WHERE projection = $1 AND stream = $2", [.text(projection), .text(stream)])
    }

    package func recordFailure(_ stream: String, error: String) throws {
        try connection.query(
            "UPDATE projection_quarantine SET error = $3, retry_requested = false WHERE projection = $1 AND stream = $2",
            [.text(projection), .text(stream), .text(error)])
    }

    /// Asks the projection's leader to retry every quarantined stream.
    package func requestRetry() throws -> Int {
        try connection.query("UPDATE projection_quarantine SET retry_requested = true WHERE projection = $1", [.text(projection)]).affectedRows
    }
}
