import CallAuditStore

/// The rate a hand-written consumer would reach: each batch of events appended
/// through one SQL `INSERT … ON CONFLICT DO NOTHING` of 1,000 rows, one
/// transaction per batch, from Swift over libpq — no decoding, no vault, no
/// seal chain, no Kafka positions. It is measured on the rows ingest stored, in
/// a table with the same columns, indexes and constraints as `events`, so the
/// two figures differ only by what CallAudit does per event.
enum PeerInsert {
    static let rowsPerTransaction = 1_000
    private static let columns = ["stream", "type", "source", "event_id", "event_time", "event", "content_hash", "kafka_topic", "kafka_partition", "kafka_offset"]

    /// Events per second, counting only the time spent in the INSERT transactions (reading the rows back is not timed).
    static func rate(url: String) throws -> Double {
        let reader = try PostgresConnection(conninfo: url)
        let writer = try PostgresConnection(conninfo: url)
        try writer.execute("DROP TABLE IF EXISTS bench_insert_peer; CREATE TABLE bench_insert_peer (LIKE events INCLUDING ALL)")
        defer { try? writer.execute("DROP TABLE IF EXISTS bench_insert_peer") }
        let statement = insert(rows: rowsPerTransaction)
        var (after, inserted, busy) = ("0", 0, Duration.zero)
        while true {
            let page = try reader.query(
                "SELECT position, \(columns.joined(separator: ", ")) FROM events WHERE position > $1 ORDER BY position LIMIT \(rowsPerTransaction)",
                [.text(after)]).rows
            guard let last = page.last?.first ?? nil else { break }
            let values = page.flatMap { $0.dropFirst().map { $0.map(PostgresValue.text) ?? .null } }
            let sql = page.count == rowsPerTransaction ? statement : insert(rows: page.count)
            let started = ContinuousClock.now
            try writer.transaction { _ = try writer.query(sql, values) }
            busy += started.duration(to: .now)
            (after, inserted) = (last, inserted + page.count)
        }
        return Double(inserted) / busy.inSeconds
    }

    /// `INSERT INTO bench_insert_peer (…) VALUES ($1, …), (…) ON CONFLICT DO NOTHING` for `rows` rows.
    private static func insert(rows: Int) -> String {
        let width = columns.count
        let tuples = (0..<rows).map { row in "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ", ") + ")" }
        return "INSERT INTO bench_insert_peer (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING"
    }
}
