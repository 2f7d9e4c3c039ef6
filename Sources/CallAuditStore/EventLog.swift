import CallAuditDomain

/// A place in the log, in the order projections read it: by the writing
/// transaction, then by position.
package struct LogCursor: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var transactionID: UInt64
    package var position: Int64

    package init(transactionID: UInt64, position: Int64) {
        self.transactionID = transactionID
        self.position = position
    }

    package static let start = LogCursor(transactionID: 0, position: 0)

    package static func < (a: LogCursor, b: LogCursor) -> Bool {
        (a.transactionID, a.position) < (b.transactionID, b.position)
    }

    package var description: String { "\(transactionID)/\(position)" }
}

/// An event as read back from the store.
package struct StoredEvent: Sendable {
    package var cursor: LogCursor
    package var stream: String
    package var type: String
    package var time: Timestamp
    /// The canonical CloudEvent JSON, as stored and hashed.
    package var json: String

    package var position: Int64 { cursor.position }

    package func document() throws(JSONParseError) -> JSONValue { try JSONParser.parse(json) }
}

/// Reads the event log so that no committed event is ever skipped.
///
/// Positions come from a sequence, so concurrent writers commit them out of
/// order: a reader that remembered "position > N" would skip a smaller
/// position committed late. Instead the reader takes only events of
/// transactions older than the oldest one still in flight
/// (`pg_snapshot_xmin`, in the log's ids: `LogClock`), in (transaction, position) order. Every event that
/// becomes visible later belongs to a transaction at or above that horizon,
/// so it sorts after everything already read.
package struct EventLog {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    // The cast is aliased so ORDER BY transaction_id sorts the xid8 column by its
    // index, not this text (which would sort "10" before "9" and scan the table).
    private static let columns =
        "transaction_id::text AS transaction_text, position, stream, type, (extract(epoch FROM event_time) * 1000000)::bigint, event"

    /// The oldest transaction still in flight, in the log's ids (`LogClock`):
    /// events at or above it may still change.
    package func horizon() throws -> UInt64 {
        UInt64(try connection.query("SELECT pg_catalog.pg_snapshot_xmin(callaudit_log_snapshot())::text").scalar ?? "0") ?? 0
    }

    /// Up to `limit` settled events after `cursor`, below `horizon`.
    package func read(after cursor: LogCursor, below horizon: UInt64, limit: Int) throws -> [StoredEvent] {
        try events(
            """
            SELECT \(Self.columns) FROM events
            WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8
            ORDER BY transaction_id, position LIMIT $4
            """,
            [.text(String(cursor.transactionID)), .int(cursor.position), .text(String(horizon)), .int(limit)])
    }

    /// One stream's events in the window (from, through], in log order.
    package func events(inStream stream: String, from: LogCursor, through: LogCursor) throws -> [StoredEvent] {
        try events(
            """
            SELECT \(Self.columns) FROM events
            WHERE stream = $1 AND (transaction_id, position) >= ($2::xid8, $3::bigint)
              AND (transaction_id, position) <= ($4::xid8, $5::bigint)
            ORDER BY transaction_id, position
            """,
            [.text(stream), .text(String(from.transactionID)), .int(from.position), .text(String(through.transactionID)), .int(through.position)])
    }

    /// How many settled and unsettled events lie after `cursor`.
    package func count(after cursor: LogCursor) throws -> Int {
        Int(try connection.query(
            "SELECT count(*) FROM events WHERE (transaction_id, position) > ($1::xid8, $2::bigint)",
            [.text(String(cursor.transactionID)), .int(cursor.position)]
        ).scalar ?? "0") ?? 0
    }

    /// How many committed events after `cursor` wait at or above the horizon, not yet readable.
    package func countWaiting(after cursor: LogCursor, horizon: UInt64) throws -> Int {
        Int(try connection.query(
            "SELECT count(*) FROM events WHERE transaction_id >= $1::xid8 AND (transaction_id, position) > ($2::xid8, $3::bigint)",
            [.text(String(horizon)), .text(String(cursor.transactionID)), .int(cursor.position)]
        ).scalar ?? "0") ?? 0
    }

    /// Runs a select of `columns`, decoding rows straight from libpq's buffers.
    private func events(_ sql: String, _ parameters: [PostgresValue]) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        try connection.forEachRow(sql, parameters) { row in
            events.append(
                StoredEvent(
                    cursor: LogCursor(transactionID: UInt64(row.int64(0)!), position: row.int64(1)!), stream: row.string(2)!,
                    type: row.string(3)!, time: Timestamp(microseconds: row.int64(4)!), json: row.string(5)!))
        }
        return events
    }
}
