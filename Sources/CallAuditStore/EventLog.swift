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

    // Read in binary form: the time as PostgreSQL holds it (microseconds since
    // 2000) and the ids as 8 bytes. In text, the time had to go through
    // `extract(epoch …)`, numeric arithmetic on every row that cost a rebuild
    // about 1 µs of the server's CPU per event.
    private static let columns = "transaction_id, position, stream, type, event_time, event"

    /// The oldest transaction still in flight, in the log's ids (`LogClock`):
    /// events at or above it may still change.
    package func horizon() throws -> UInt64 {
        try connection.query("SELECT pg_catalog.pg_snapshot_xmin(callaudit_log_snapshot())::text").decodeScalar(UInt64.self)
    }

    /// Up to `limit` settled events after `cursor`, below `horizon`.
    package func read(after cursor: LogCursor, below horizon: UInt64, limit: Int) throws -> [StoredEvent] {
        try events(Self.settledPage(of: Self.columns), Self.settledPageParameters(after: cursor, below: horizon, limit: limit))
    }

    /// The keyset query for a page of the settled log, of `columns`: every
    /// reader of pages (`read`, `readDocuments`) orders and bounds them alike.
    static func settledPage(of columns: String) -> String {
        """
        SELECT \(columns) FROM events
        WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8
        ORDER BY transaction_id, position LIMIT $4
        """
    }

    static func settledPageParameters(after cursor: LogCursor, below horizon: UInt64, limit: Int) -> [PostgresValue] {
        [.text(String(cursor.transactionID)), .int(cursor.position), .text(String(horizon)), .int(limit)]
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
        try connection.query(
            "SELECT count(*) FROM events WHERE (transaction_id, position) > ($1::xid8, $2::bigint)",
            [.text(String(cursor.transactionID)), .int(cursor.position)]
        ).decodeScalar(Int.self)
    }

    /// How many committed events after `cursor` wait at or above the horizon, not yet readable.
    package func countWaiting(after cursor: LogCursor, horizon: UInt64) throws -> Int {
        try connection.query(
            "SELECT count(*) FROM events WHERE transaction_id >= $1::xid8 AND (transaction_id, position) > ($2::xid8, $3::bigint)",
            [.text(String(horizon)), .text(String(cursor.transactionID)), .int(cursor.position)]
        ).decodeScalar(Int.self)
    }

    /// The highest position stored, 0 for an empty log.
    package func headPosition() throws -> Int64 {
        try connection.query("SELECT coalesce(max(position), 0) FROM events").decodeScalar(Int64.self)
    }

    /// How many events lie after `cursor`, and when the earliest-stored of them was stored (nil when none do).
    package func backlog(after cursor: LogCursor) throws -> (events: Int, oldestStoredAt: Timestamp?) {
        // An aggregate: always one row.
        guard
            let (count, oldest) = try connection.query(
                """
                SELECT count(*), (extract(epoch FROM min(ingested_at)) * 1000000)::bigint FROM events
                WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
                """, [.text(String(cursor.transactionID)), .int(cursor.position)]
            ).decodeFirst((Int, Int64?).self)
        else { throw PostgresDecodingError(reason: .noRow, column: "", expected: "event count") }
        return (count, oldest.map(Timestamp.init(microseconds:)))
    }

    /// When the next event after `cursor` in log order was stored; nil when there is none.
    package func storedAt(ofNextAfter cursor: LogCursor) throws -> Timestamp? {
        try connection.query(
            """
            SELECT (extract(epoch FROM ingested_at) * 1000000)::bigint FROM events
            WHERE (transaction_id, position) > ($1::xid8, $2::bigint) ORDER BY transaction_id, position LIMIT 1
            """, [.text(String(cursor.transactionID)), .int(cursor.position)]
        ).decodeFirst(Int64.self).map(Timestamp.init(microseconds:))
    }

    /// Data-subject requests' streams are this and the request's id; their events
    /// are read through a partial index on it (migration 0007), which a query
    /// uses only when it names the prefix as a literal.
    package static let requestStreamPrefix = "subject-request-"

    /// One request stream's events as stored (JSON text), in log order; none for a stream that is not a request's.
    package func requestDocuments(inStream stream: String) throws -> [String] {
        try connection.query(
            "SELECT event FROM events WHERE stream = $1 AND stream LIKE 'subject-request-%' ORDER BY position", [.text(stream)]
        ).decode(String.self)
    }

    /// The events with these ids, in log order, each with every source's event of that id.
    ///
    /// Ids are indexed only with their source, so with at most `sourceLimit`
    /// distinct sources each (source, id) pair is an index probe (the sources
    /// themselves come from the same index, one probe each); with more, the
    /// log is read once.
    package func locate(_ wanted: [String], probingAtMostSources sourceLimit: Int) throws -> [(eventID: String, cursor: LogCursor)] {
        guard !wanted.isEmpty else { return [] }
        let sources = try connection.query(
            """
            WITH RECURSIVE s(source, n) AS (
                (SELECT source, 1 FROM events ORDER BY source LIMIT 1)
                UNION ALL
                SELECT (SELECT e.source FROM events e WHERE e.source > s.source ORDER BY e.source LIMIT 1), s.n + 1
                FROM s WHERE s.source IS NOT NULL AND s.n <= $1::int
            )
            SELECT source FROM s WHERE source IS NOT NULL
            """, [.int(sourceLimit)]
        ).decode(String?.self).compactMap { $0 }
        // Ordered by the xid8, not the selected text, which would put "10" before "9".
        let rows = sources.count <= sourceLimit
            ? try connection.query(
                """
                SELECT e.event_id, e.transaction_id::text, e.position
                FROM unnest($1::text[]) AS s(source)
                JOIN events e ON e.source = s.source COLLATE "C" AND e.event_id = ANY($2::text[])
                ORDER BY e.transaction_id, e.position
                """, [.text(postgresArrayLiteral(sources)), .text(postgresArrayLiteral(wanted))])
            : try connection.query(
                "SELECT event_id, transaction_id::text, position FROM events WHERE event_id = ANY($1::text[]) ORDER BY transaction_id, position",
                [.text(postgresArrayLiteral(wanted))])
        return try rows.decode((String, UInt64, Int64).self).map { (eventID: $0, cursor: LogCursor(transactionID: $1, position: $2)) }
    }

    /// The content hash of each settled event after `cursor` (below `horizon`), at most `limit`, in log
    /// order: what a seal's leaves are made of, read in binary straight from libpq's buffers.
    package func forEachContentHash(
        after cursor: LogCursor, below horizon: UInt64, limit: Int, _ body: (LogCursor, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try connection.forEachRow(
            """
            SELECT transaction_id, position, content_hash FROM events
            WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8
            ORDER BY transaction_id, position LIMIT $4
            """,
            [.text(String(cursor.transactionID)), .int(cursor.position), .text(String(horizon)), .int(Int64(limit))],
            binary: true
        ) { row in
            let at = LogCursor(transactionID: try row.requiredBigEndian(0), position: Int64(bitPattern: try row.requiredBigEndian(1)))
            try body(at, try row.requiredBytes(2))
        }
    }

    /// How many events of each type the log holds (a scan of the whole log).
    package func countsByType() throws -> [(type: String, count: Int)] {
        try connection.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
            .decode((String, Int).self).map { (type: $0, count: $1) }
    }

    /// Runs a select of `columns`, decoding rows straight from libpq's buffers.
    private func events(_ sql: String, _ parameters: [PostgresValue]) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        try connection.forEachRow(sql, parameters, binary: true) { row in
            func text(_ column: Int) throws -> String { String(decoding: try row.requiredBytes(column), as: UTF8.self) }
            events.append(
                StoredEvent(
                    cursor: LogCursor(transactionID: try row.requiredBigEndian(0), position: Int64(bitPattern: try row.requiredBigEndian(1))),
                    stream: try text(2), type: try text(3),
                    time: Timestamp(postgresBinary: Int64(bitPattern: try row.requiredBigEndian(4))), json: try text(5)))
        }
        return events
    }
}
