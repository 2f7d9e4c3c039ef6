import CallAuditDomain
import CallAuditStore
import Foundation

/// The `seals` table: append-only, read by number or by what they cover.
package struct SealStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    private static let columns = """
        seal_no, after_txid::text, after_position, through_txid::text, through_position, event_count, encode(merkle_root, 'hex'),
        (extract(epoch FROM sealed_at) * 1000000)::bigint, key_id, encode(body, 'base64'), encode(signature, 'hex'), encode(leaves, 'base64')
        """

    package func latest() throws -> Seal? {
        try seals("SELECT \(Self.columns) FROM seals ORDER BY seal_no DESC LIMIT 1").first
    }

    /// The newest seal without its leaves: all the next seal needs (its number, end, body hash and time).
    package func head() throws -> Seal? {
        try seals("SELECT \(Self.columns.replacingOccurrences(of: "encode(leaves, 'base64')", with: "''")) FROM seals ORDER BY seal_no DESC LIMIT 1").first
    }

    package func seal(_ number: Int64) throws -> Seal? {
        try seals("SELECT \(Self.columns) FROM seals WHERE seal_no = $1", [.int(number)]).first
    }

    /// Seals after `number`, in order, at most `limit`.
    package func list(after number: Int64 = 0, limit: Int = 100) throws -> [Seal] {
        try seals("SELECT \(Self.columns) FROM seals WHERE seal_no > $1 ORDER BY seal_no LIMIT $2", [.int(number), .int(Int64(limit))])
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
        try connection.query(sql, parameters).map { row in
            Seal(
                sealNo: Int64(row[0]!)!,
                after: LogCursor(transactionID: UInt64(row[1]!)!, position: Int64(row[2]!)!),
                through: LogCursor(transactionID: UInt64(row[3]!)!, position: Int64(row[4]!)!),
                eventCount: Int(row[5]!)!, merkleRoot: [UInt8](hexString: row[6]!) ?? [],
                sealedAt: Timestamp(microseconds: Int64(row[7]!)!), keyID: row[8]!,
                body: base64(row[9]!), signature: [UInt8](hexString: row[10]!) ?? [], leaves: base64(row[11]!))
        }
    }
}

/// PostgreSQL's base64 breaks lines every 76 characters.
private func base64(_ text: String) -> [UInt8] {
    Array(Foundation.Data(base64Encoded: text.filter { !$0.isNewline }) ?? Foundation.Data())
}
