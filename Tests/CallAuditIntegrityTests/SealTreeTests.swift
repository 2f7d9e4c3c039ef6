import CallAuditDomain
import CallAuditIntegrity
import Testing

/// A seal's leaves and Merkle tree, computed in memory: what verify-store and the inclusion proofs rely on.
@Suite("Seal leaves, Merkle root and inclusion proofs")
struct SealTreeTests {
    /// Leaves for positions 1…`count`, each with a content hash made from its position.
    private func leaves(_ count: Int) -> [UInt8] {
        (1...Int64(count)).flatMap { position in Seal.leaf(position: position, contentHash: [UInt8](repeating: UInt8(position % 251), count: 32)) }
    }

    @Test("a leaf is the position, big-endian, then the content hash; decoding gives both back in order")
    func leafRoundTrip() {
        let leaf = Seal.leaf(position: 0x0102, contentHash: [UInt8](repeating: 0xab, count: 32))
        #expect(leaf.count == 40 && Array(leaf.prefix(8)) == [0, 0, 0, 0, 0, 0, 1, 2])
        let decoded = Seal.decodeLeaves(leaves(5))
        #expect(decoded.map(\.position) == [1, 2, 3, 4, 5])
        #expect(decoded.allSatisfy { Array($0.hash) == [UInt8](repeating: UInt8($0.position % 251), count: 32) })
    }

    @Test("the root is the Merkle tree's over the leaf hashes; changing any one byte of any leaf changes it")
    func rootCoversEveryByte() {
        let all = leaves(7)
        let root = Seal.merkleRoot(ofLeaves: all)
        #expect(root == MerkleTree.root(leafHashes: Seal.leafHashes(all)))
        for index in stride(from: 0, to: all.count, by: 13) {
            var bent = all
            bent[index] ^= 1
            #expect(Seal.merkleRoot(ofLeaves: bent) != root, "byte \(index)")
        }
        #expect(Seal.merkleRoot(ofLeaves: leaves(6)) != Seal.merkleRoot(ofLeaves: leaves(7)), "a missing event changes the root")
    }

    @Test("every leaf of trees of 1 to 17 leaves has a proof to the root; a proof for another index or another root fails")
    func inclusionProofs() {
        for size in 1...17 {
            let hashes = Seal.leafHashes(leaves(size))
            let root = MerkleTree.root(leafHashes: hashes)
            for index in 0..<size {
                let proof = MerkleTree.inclusionProof(index: index, leafHashes: hashes)
                #expect(MerkleTree.verify(leafHash: hashes[index], index: index, size: size, proof: proof, root: root), "\(index) of \(size)")
                if size > 1 {
                    let other = (index + 1) % size
                    #expect(!MerkleTree.verify(leafHash: hashes[index], index: other, size: size, proof: proof, root: root), "\(index) as \(other) of \(size)")
                }
            }
            #expect(!MerkleTree.verify(leafHash: hashes[0], index: 0, size: size, proof: MerkleTree.inclusionProof(index: 0, leafHashes: hashes),
                                       root: MerkleTree.root(leafHashes: Seal.leafHashes(leaves(size + 1)))))
        }
    }
}
