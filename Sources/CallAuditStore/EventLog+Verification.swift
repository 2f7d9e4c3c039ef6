import CallAuditDomain

/// An event exactly as stored, for checking it against its own bytes: the
/// content hash and bytes as they are, and the columns stored beside them.
package struct StoredEventRecord: Sendable {
    package var cursor: LogCursor
    package var storedHash: [UInt8]
    package var bytes: [UInt8]
    package var columns: EventColumns

    package var position: Int64 { cursor.position }
}

extension Timestamp {
    /// PostgreSQL's timestamps count from 2000-01-01T00:00:00Z; ours from 1970.
    private static let postgresEpochMicroseconds: Int64 = 946_684_800_000_000

    /// A `timestamptz` in PostgreSQL's binary form: microseconds since 2000-01-01, where Unix time counts from 1970.
    package init(postgresBinary microseconds: Int64) {
        self.init(microseconds: microseconds &+ Self.postgresEpochMicroseconds)
    }

    /// This time in PostgreSQL's binary form, as `init(postgresBinary:)` reads it.
    package var postgresBinary: Int64 { microseconds - Self.postgresEpochMicroseconds }
}

/// The reads verify-store and the seal checks make of the log.
extension EventLog {
    /// Up to `limit` events after `after` (through `through`, if given), in seal order, as stored.
    ///
    /// With a `through`, the limit (a seal's count, plus one to see an
    /// insertion) also steers the planner to the index: row comparisons on
    /// (transaction_id, position) are estimated far too wide, and without a
    /// limit it picks a parallel scan of the whole table. Binary results:
    /// no text to parse for hashes and integers.
    package func records(after: LogCursor, through: LogCursor?, limit: Int) throws -> [StoredEventRecord] {
        var records: [StoredEventRecord] = []
        records.reserveCapacity(limit)
        var parameters: [PostgresValue] = [.text(String(after.transactionID)), .int(after.position), .int(Int64(limit))]
        var upper = ""
        if let through {
            upper = "AND (transaction_id, position) <= ($4::xid8, $5::bigint)"
            parameters += [.text(String(through.transactionID)), .int(through.position)]
        }
        try connection.forEachRow(
            """
            SELECT transaction_id, position, content_hash, event, stream, type, source, event_id, event_time FROM events
            WHERE (transaction_id, position) > ($1::xid8, $2::bigint) \(upper)
            ORDER BY transaction_id, position LIMIT $3
            """, parameters, binary: true
        ) { row in
            func text(_ column: Int) -> String { String(decoding: row.bytes(column), as: UTF8.self) }
            records.append(
                StoredEventRecord(
                    cursor: LogCursor(transactionID: try row.requiredBigEndian(0), position: Int64(bitPattern: try row.requiredBigEndian(1))),
                    storedHash: Array(row.bytes(2)), bytes: Array(row.bytes(3)),
                    columns: EventColumns(
                        stream: text(4), typeName: text(5), source: text(6), id: text(7),
                        time: Timestamp(postgresBinary: Int64(bitPattern: try row.requiredBigEndian(8))))))
        }
        return records
    }

    /// Positions (at most `limit`) of events whose transaction id no committed
    /// transaction can have: at or past the snapshot's horizon of assigned ids,
    /// or still in progress. Such an event sorts after everything projections
    /// and the sealer may read, so it would stay hidden from them. Read in one
    /// statement, whose snapshot is the one it is visible in; both conditions
    /// use the index. The snapshot is in the log's ids (`LogClock`), as the events' are.
    package func positionsOfUncommittedTransactions(limit: Int) throws -> [Int64] {
        try connection.query(
            """
            SELECT position FROM events
            WHERE transaction_id >= pg_catalog.pg_snapshot_xmax(callaudit_log_snapshot())
               OR transaction_id = ANY(ARRAY(SELECT pg_catalog.pg_snapshot_xip(callaudit_log_snapshot())))
            ORDER BY position LIMIT $1
            """, [.int(Int64(limit))]
        ).decode(Int64.self)
    }
}
