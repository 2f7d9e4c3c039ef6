import CallAuditDomain
import CallAuditStore
import Foundation

/// The `seals` table: append-only, read by number or by what they cover.
package struct SealStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Read in binary: a seal's leaves are 400 KB, which as base64 text took verify-store a quarter of its time to decode.
    private static let columns = """
        seal_no, after_txid, after_position, through_txid, through_position, event_count, merkle_root, sealed_at, key_id, body, signature, leaves
        """

    package func latest() throws -> Seal? {
        try seals("SELECT \(Self.columns) FROM seals ORDER BY seal_no DESC LIMIT 1").first
    }

    /// The newest seal without its leaves: all the next seal needs (its number, end, body hash and time).
    package func head() throws -> Seal? {
        try seals("SELECT \(Self.columns.replacingOccurrences(of: "leaves", with: "''::bytea")) FROM seals ORDER BY seal_no DESC LIMIT 1").first
    }

    package func seal(_ number: Int64) throws -> Seal? {
        try seals("SELECT \(Self.columns) FROM seals WHERE seal_no = $1", [.int(number)]).first
    }

    /// Seals after `number`, in order, at most `limit`.
    package func list(after number: Int64 = 0, limit: Int = 100) throws -> [Seal] {
        try seals("SELECT \(Self.columns) FROM seals WHERE seal_no > $1 ORDER BY seal_no LIMIT $2", [.int(number), .int(Int64(limit))])
    }

    /// Seals numbered between `after` and `before` (both excluded), oldest or newest first, at most `limit`,
    /// without their leaves (a listing shows none, and they are most of a seal's bytes).
    package func list(after: Int64, before: Int64, newestFirst: Bool, limit: Int = 100) throws -> [Seal] {
        try seals(
            """
            SELECT \(Self.columns.replacingOccurrences(of: "leaves", with: "''::bytea")) FROM seals
            WHERE seal_no > $1 AND seal_no < $2 ORDER BY seal_no \(newestFirst ? "DESC" : "ASC") LIMIT $3
            """, [.int(after), .int(before), .int(Int64(limit))])
    }


    /// The first seal whose range ends at or after `cursor`: the one that covers it, once sealed.
    package func covering(_ cursor: LogCursor) throws -> Seal? {
        try seals(
            """
            SELECT \(Self.columns) FROM seals WHERE (through_txid, through_position) >= ($1::xid8, $2::bigint)
            ORDER BY seal_no LIMIT 1
            """, [.text(String(cursor.transactionID)), .int(cursor.position)]
        ).first
    }

    package func insert(_ seal: Seal) throws {
        try connection.query(
            """
            INSERT INTO seals (seal_no, after_txid, after_position, through_txid, through_position, event_count, merkle_root,
                               sealed_at, key_id, body, signature, leaves)
            VALUES ($1, $2::xid8, $3, $4::xid8, $5, $6, decode($7, 'hex'), $8::timestamptz, $9, $10, $11, $12)
            """,
            [
                .int(seal.sealNo), .text(String(seal.after.transactionID)), .int(seal.after.position),
                .text(String(seal.through.transactionID)), .int(seal.through.position), .int(Int64(seal.eventCount)),
                .text(seal.merkleRoot.hexString), .text(seal.sealedAt.rfc3339), .text(seal.keyID), .bytes(seal.body),
                .bytes(seal.signature), .bytes(seal.leaves),
            ])
    }

    private func seals(_ sql: String, _ parameters: [PostgresValue] = []) throws -> [Seal] {
        var seals: [Seal] = []
        try connection.forEachRow(sql, parameters, binary: true) { row in
            func int64(_ column: Int) throws -> Int64 { Int64(bitPattern: try row.requiredBigEndian(column)) }
            func bytes(_ column: Int) throws -> [UInt8] { Array(try row.requiredBytes(column)) }
            seals.append(
                Seal(
                    sealNo: try int64(0),
                    after: LogCursor(transactionID: try row.requiredBigEndian(1), position: try int64(2)),
                    through: LogCursor(transactionID: try row.requiredBigEndian(3), position: try int64(4)),
                    eventCount: try row.requiredBytes(5).reduce(0) { $0 << 8 | Int($1) }, merkleRoot: try bytes(6),
                    sealedAt: Timestamp(postgresBinary: try int64(7)),
                    keyID: String(decoding: try row.requiredBytes(8), as: UTF8.self),
                    body: try bytes(9), signature: try bytes(10), leaves: try bytes(11)))
        }
        return seals
    }
}
