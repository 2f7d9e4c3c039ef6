/// A page of the settled log as a rebuild reads it: each event's stored
/// JSON, in log order, and where the page ends.
package struct LogDocuments: Sendable {
    /// The canonical CloudEvent JSON of each event, as stored and hashed.
    package var documents: [String]
    /// The last event's place: the next page starts after it.
    package var last: LogCursor
}

extension EventLog {
    /// Up to `limit` settled events after `cursor`, below `horizon`, as their
    /// stored JSON only; nil when none is left. The same events, in the same
    /// order, as `read(after:below:limit:)`.
    ///
    /// For a rebuild, which reads every event's JSON and nothing else: no
    /// stream, type or time is sent or made into a `String` (most of what
    /// reading a row cost), and each row's place is decoded from its two
    /// 8-byte columns, not kept.
    package func readDocuments(after cursor: LogCursor, below horizon: UInt64, limit: Int) throws -> LogDocuments? {
        var documents: [String] = []
        documents.reserveCapacity(limit)
        var last = cursor
        try connection.forEachRow(
            Self.settledPage(of: "transaction_id, position, event"),
            Self.settledPageParameters(after: cursor, below: horizon, limit: limit),
            binary: true
        ) { row in
            last = LogCursor(transactionID: try row.requiredBigEndian(0), position: Int64(bitPattern: try row.requiredBigEndian(1)))
            documents.append(String(decoding: try row.requiredBytes(2), as: UTF8.self))
        }
        return documents.isEmpty ? nil : LogDocuments(documents: documents, last: last)
    }
}
