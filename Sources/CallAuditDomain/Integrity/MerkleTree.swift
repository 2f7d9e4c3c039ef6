import Crypto

/// The Merkle tree hash of RFC 9162 §2.1 over a list of leaves, and the
/// inclusion proofs of §2.1.3: what a seal signs over a range of the log.
///
/// Leaf hashes are `SHA-256(0x00 ‖ leaf)`, interior nodes
/// `SHA-256(0x01 ‖ left ‖ right)`; a list of n leaves splits at the largest
/// power of two below n, so the tree, and every proof, is fixed by the order
/// of the leaves alone.
package enum MerkleTree {
    package typealias Hash = [UInt8]

    package static func leafHash(_ leaf: some Sequence<UInt8>) -> Hash {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(leaf))
        return Array(hasher.finalize())
    }

    package static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root over already-hashed leaves (the hash of the empty string for none).
    /// Iterative and linear: pairs are combined level by level, an odd last
    /// node carried up unchanged, which gives exactly §2.1.1's recursion.
    package static func root(leafHashes: [Hash]) -> Hash {
        guard !leafHashes.isEmpty else { return Array(SHA256.hash(data: [UInt8]())) }
        var level = leafHashes
        while level.count > 1 {
            var next: [Hash] = []
            next.reserveCapacity((level.count + 1) / 2)
            var index = 0
            while index + 1 < level.count {
                next.append(nodeHash(level[index], level[index + 1]))
                index += 2
            }
            if index < level.count { next.append(level[index]) }
            level = next
        }
        return level[0]
    }

    /// Bytes in a hash: leaf hashes laid back to back are this far apart.
    package static let hashSize = 32

    /// Appends `SHA-256(0x00 ‖ leaf)` to `hashes`: the sealer hashes every event
    /// this way, and a hash per event costs no allocation but the hasher's own.
    package static func appendLeafHash(of leaf: UnsafeRawBufferPointer, to hashes: inout [UInt8]) {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0x00)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: leaf)
        hasher.finalize().withUnsafeBytes { hashes.append(contentsOf: $0) }
    }

    /// The root over leaf hashes laid back to back, `hashSize` bytes each: the
    /// same tree as `root(leafHashes:)`, built in `hashes` itself (overwritten),
    /// each level written over the first half of the one below it.
    package static func root(flatLeafHashes hashes: inout [UInt8]) -> Hash {
        precondition(hashes.count % hashSize == 0)
        guard !hashes.isEmpty else { return Array(SHA256.hash(data: [UInt8]())) }
        hashes.withUnsafeMutableBytes { nodes in
            var count = nodes.count / hashSize
            while count > 1 {
                var read = 0
                var written = 0
                while read + 1 < count {
                    // Left ‖ right lie side by side: one update covers both; the pair is read before its slot is overwritten.
                    var hasher = SHA256()
                    withUnsafeBytes(of: UInt8(0x01)) { hasher.update(bufferPointer: $0) }
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: nodes[read * hashSize..<(read + 2) * hashSize]))
                    hasher.finalize().withUnsafeBytes { digest in
                        UnsafeMutableRawBufferPointer(rebasing: nodes[written * hashSize..<(written + 1) * hashSize]).copyMemory(from: digest)
                    }
                    read += 2
                    written += 1
                }
                if read < count {
                    // An odd last node goes up unchanged (`written < read`: the slots do not overlap).
                    UnsafeMutableRawBufferPointer(rebasing: nodes[written * hashSize..<(written + 1) * hashSize])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: nodes[read * hashSize..<(read + 1) * hashSize]))
                    written += 1
                }
                count = written
            }
        }
        return Array(hashes[0..<hashSize])
    }

    /// The audit path of leaf `index` among `leafHashes` (§2.1.3.1), leaf side first.
    package static func inclusionProof(index: Int, leafHashes: [Hash]) -> [Hash] {
        precondition(leafHashes.indices.contains(index))
        var path: [Hash] = []
        var level = leafHashes
        var position = index
        while level.count > 1 {
            let sibling = position ^ 1
            if sibling < level.count { path.append(level[sibling]) }
            var next: [Hash] = []
            var i = 0
            while i + 1 < level.count {
                next.append(nodeHash(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
            position /= 2
        }
        return path
    }

    /// Whether `proof` shows leaf `index` of a tree of `size` leaves, with
    /// hash `leafHash`, under `root` (the verification of §2.1.3.2).
    package static func verify(leafHash: Hash, index: Int, size: Int, proof: [Hash], root: Hash) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }
}
