import CallAuditDomain
import CallAuditStore

/// The events the next seal will cover, read after the chain's head: their
/// leaves and Merkle leaf hashes, each appended once as the log is read, in
/// flat buffers (40 and 32 bytes an event), so reading and hashing allocate
/// nothing per event.
///
/// A sealer that runs for long keeps them between rounds (`Sealer.sealDue(key:carrying:)`):
/// events below the horizon never change, so what one round read the next
/// need not read again, as long as the chain's head is still the one they follow.
package struct SealLeaves: Sendable {
    /// The seal these events follow (0 for the first) and where it ends.
    package let headSealNo: Int64
    package let after: LogCursor
    /// The last event appended (`after` while none is).
    package private(set) var through: LogCursor
    /// `Seal.leafSize` bytes an event: position (big-endian) ‖ content hash.
    package private(set) var leaves: [UInt8] = []
    /// `MerkleTree.hashSize` bytes an event: SHA-256(0x00 ‖ leaf).
    package private(set) var leafHashes: [UInt8] = []

    /// Room for `capacity` events after `head` (none: the start of the log).
    package init(after head: Seal?, capacity: Int) {
        headSealNo = head?.sealNo ?? 0
        after = head?.through ?? .start
        through = after
        leaves.reserveCapacity(capacity * Seal.leafSize)
        leafHashes.reserveCapacity(capacity * MerkleTree.hashSize)
    }

    package var count: Int { leaves.count / Seal.leafSize }
    package var isEmpty: Bool { leaves.isEmpty }

    /// Whether these events still continue the chain whose newest seal is `head`.
    package func follow(_ head: Seal?) -> Bool {
        headSealNo == (head?.sealNo ?? 0) && after == (head?.through ?? .start)
    }

    /// Appends the next event in log order. A content hash is 32 bytes (the
    /// table checks it); anything else would shift every later leaf, so it is refused.
    package mutating func append(_ cursor: LogCursor, contentHash: UnsafeRawBufferPointer) throws(SealingError) {
        guard contentHash.count == Seal.leafSize - 8 else { throw .malformedContentHash(position: cursor.position) }
        let start = leaves.count
        withUnsafeBytes(of: cursor.position.bigEndian) { leaves.append(contentsOf: $0) }
        leaves.append(contentsOf: contentHash)
        leaves.withUnsafeBytes { MerkleTree.appendLeafHash(of: UnsafeRawBufferPointer(rebasing: $0[start...]), to: &leafHashes) }
        through = cursor
    }

    /// The Merkle root over the leaves, from the hashes already made.
    package func merkleRoot() -> MerkleTree.Hash {
        var nodes = leafHashes
        return MerkleTree.root(flatLeafHashes: &nodes)
    }
}

package enum SealingError: Error, CustomStringConvertible {
    case malformedContentHash(position: Int64)

    package var description: String {
        switch self {
        case .malformedContentHash(let position): "the event at position \(position) has a content hash that is not 32 bytes"
        }
    }
}
