import CallAuditDomain
import CallAuditSigning
import CallAuditStore
import Foundation

/// What a seal signs, typed: its kind, the range of the log it covers, the
/// count, the Merkle root over the leaves, the SHA-256 of the leaves and of the
/// previous seal's body, the time and the key. The member names are the
/// seal's schema: every seal ever made is signed over them.
package struct SealBody: Codable, Sendable, Equatable {
    /// `callaudit.seal` (`DocumentKind`): every seal has named its kind.
    package var type: String
    /// The body's format; 1 since the first seal.
    package var version: Int
    package var seal: Int64
    package var after: Cursor
    package var through: Cursor
    package var events: Int
    package var merkleRoot: String
    package var leavesSHA256: String
    /// Null for the first seal.
    package var previousSealSHA256: String?
    package var sealedAt: String
    package var keyID: String

    enum CodingKeys: String, CodingKey {
        case type, version, seal, after, through, events, merkleRoot = "merkle_root", leavesSHA256 = "leaves_sha256"
        case previousSealSHA256 = "previous_seal_sha256", sealedAt = "sealed_at", keyID = "key_id"
    }

    /// A log position as a seal names it: the transaction id as a string (xid8 exceeds JSON's exact integers).
    package struct Cursor: Codable, Sendable, Equatable {
        package var transactionID: String
        package var position: Int64

        enum CodingKeys: String, CodingKey { case transactionID = "transaction_id", position }

        package init(_ cursor: LogCursor) {
            transactionID = String(cursor.transactionID)
            position = cursor.position
        }

        /// The cursor named, nil if its transaction id is not one.
        package var cursor: LogCursor? { UInt64(transactionID).map { LogCursor(transactionID: $0, position: position) } }
    }

    package init(
        seal: Int64, after: LogCursor, through: LogCursor, events: Int, merkleRoot: String, leavesSHA256: String,
        previousSealSHA256: String?, sealedAt: Timestamp, keyID: String
    ) {
        type = DocumentKind.seal.rawValue
        version = 1
        self.seal = seal
        self.after = Cursor(after)
        self.through = Cursor(through)
        self.events = events
        self.merkleRoot = merkleRoot
        self.leavesSHA256 = leavesSHA256
        self.previousSealSHA256 = previousSealSHA256
        self.sealedAt = sealedAt.rfc3339
        self.keyID = keyID
    }

    /// A signed body as stored.
    package init(decoding body: [UInt8]) throws {
        self = try JSONDecoder().decode(SealBody.self, from: Data(body))
    }

    /// The signed bytes: RFC 8785 canonical JSON.
    package func canonicalBytes() throws -> [UInt8] { try JSONValue(encoding: self).canonicalBytes }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(version, forKey: .version)
        try c.encode(seal, forKey: .seal)
        try c.encode(after, forKey: .after)
        try c.encode(through, forKey: .through)
        try c.encode(events, forKey: .events)
        try c.encode(merkleRoot, forKey: .merkleRoot)
        try c.encode(leavesSHA256, forKey: .leavesSHA256)
        try c.encode(previousSealSHA256, forKey: .previousSealSHA256)  // null for the first seal, not absent
        try c.encode(sealedAt, forKey: .sealedAt)
        try c.encode(keyID, forKey: .keyID)
    }
}
