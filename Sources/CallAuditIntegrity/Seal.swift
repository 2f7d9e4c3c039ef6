import CallAuditDomain
import CallAuditSigning
import CallAuditStore
import Crypto
import Foundation

/// A signed checkpoint over a range of the log: the events after the previous
/// seal's end up to `through`, in the projections' gap-safe order.
///
/// What is signed is `body`, RFC 8785 JSON naming its kind (`"type":
/// "callaudit.seal"`, see `DocumentKind`), the range, the count, the
/// RFC 9162 Merkle root over the events' leaves, the SHA-256 of the leaves
/// themselves and of the previous seal's body, the time and the key. Each
/// seal names its predecessor, so the seals form a hash chain: changing any
/// sealed event, or any seal, breaks a root or a link that a verifier checks
/// with nothing but the public keys.
package struct Seal: Sendable {
    /// One event as sealed: its position and content hash, 40 bytes.
    package static let leafSize = 40

    package var sealNo: Int64
    package var after: LogCursor
    package var through: LogCursor
    package var eventCount: Int
    package var merkleRoot: [UInt8]
    package var sealedAt: Timestamp
    package var keyID: String
    package var body: [UInt8]
    package var signature: [UInt8]
    /// `leafSize` bytes per event: position (big-endian) ‖ content hash.
    package var leaves: [UInt8]

    /// SHA-256 of the signed body: what the next seal names as its predecessor.
    package var hash: [UInt8] { Array(SHA256.hash(data: body)) }

    /// Seals `events`, read after `previous`, as the seal after it: their leaves are hashed already.
    package static func make(after previous: Seal?, events: SealLeaves, at time: Timestamp, key: SigningKey) throws -> Seal {
        precondition(events.follow(previous), "the events read do not follow the seal they are sealed after")
        return try make(after: previous, through: events.through, leaves: events.leaves, root: events.merkleRoot(), at: time, key: key)
    }

    /// Seals `leaves` as the seal after `previous`.
    package static func make(
        after previous: Seal?, through: LogCursor, leaves: [UInt8], at time: Timestamp, key: SigningKey
    ) throws -> Seal {
        try make(after: previous, through: through, leaves: leaves, root: merkleRoot(ofLeaves: leaves), at: time, key: key)
    }

    private static func make(
        after previous: Seal?, through: LogCursor, leaves: [UInt8], root: [UInt8], at time: Timestamp, key: SigningKey
    ) throws -> Seal {
        let count = leaves.count / leafSize
        let sealNo = (previous?.sealNo ?? 0) + 1
        let after = previous?.through ?? .start
        // Its kind is signed with it (as every seal's has been): the same key signs reports and export manifests.
        let bytes = try SealBody(
            seal: sealNo, after: after, through: through, events: count, merkleRoot: root.hexString,
            leavesSHA256: Array(SHA256.hash(data: leaves)).hexString, previousSealSHA256: previous?.hash.hexString, sealedAt: time,
            keyID: key.keyID
        ).canonicalBytes()
        return Seal(
            sealNo: sealNo, after: after, through: through, eventCount: count, merkleRoot: root, sealedAt: time, keyID: key.keyID,
            body: bytes, signature: try key.sign(bytes, as: .seal).bytes, leaves: leaves)
    }

    /// The leaf for one event.
    package static func leaf(position: Int64, contentHash: some Sequence<UInt8>) -> [UInt8] {
        withUnsafeBytes(of: position.bigEndian) { Array($0) } + Array(contentHash)
    }

    /// The leaves' Merkle leaf hashes, in order.
    package static func leafHashes(_ leaves: [UInt8]) -> [MerkleTree.Hash] {
        stride(from: 0, to: leaves.count, by: leafSize).map { MerkleTree.leafHash(leaves[$0..<$0 + leafSize]) }
    }

    /// The Merkle root over `leaves`, hashed into one flat buffer (verify-store checks every seal's this way).
    package static func merkleRoot(ofLeaves leaves: [UInt8]) -> [UInt8] {
        var hashes: [UInt8] = []
        hashes.reserveCapacity(leaves.count / leafSize * MerkleTree.hashSize)
        leaves.withUnsafeBytes { bytes in
            for offset in stride(from: 0, to: bytes.count - bytes.count % leafSize, by: leafSize) {
                MerkleTree.appendLeafHash(of: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + leafSize]), to: &hashes)
            }
        }
        return MerkleTree.root(flatLeafHashes: &hashes)
    }

    /// The (position, content hash) of each leaf.
    package static func decodeLeaves(_ leaves: [UInt8]) -> [(position: Int64, hash: ArraySlice<UInt8>)] {
        stride(from: 0, to: leaves.count - leaves.count % leafSize, by: leafSize).map { offset in
            let position = leaves[offset..<offset + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            return (position, leaves[offset + 8..<offset + leafSize])
        }
    }

    /// The seal as `GET /v1/seals/{n}` gives it: the signed body as sent, the signature, and where it stands.
    package var json: JSONValue {
        [
            "seal": .number(Double(sealNo)),
            "body": (try? JSONParser.parse(body)) ?? .null,
            "body_base64": .string(Data(body).base64EncodedString()),
            "signature": DetachedSignature(keyID: keyID, bytes: signature).json,
            "sha256": .string(hash.hexString),
        ]
    }
}
