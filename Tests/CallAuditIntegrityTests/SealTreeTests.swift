import CallAuditDomain
import CallAuditIntegrity
import CallAuditStore
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

    @Test("the root built in one flat buffer is the tree's root over the leaf hashes, for 0 to 70 leaves")
    func flatRootIsTheTreesRoot() {
        #expect(Seal.merkleRoot(ofLeaves: []).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "RFC 9162: the empty tree's hash")
        for size in 1...70 {
            let all = leaves(size)
            #expect(Seal.merkleRoot(ofLeaves: all) == MerkleTree.root(leafHashes: Seal.leafHashes(all)), "\(size) leaves")
        }
    }

    @Test("the leaves a sealer appends as it reads are the leaves and root of the events; a content hash of another length is refused")
    func sealLeavesAsRead() throws {
        var events = SealLeaves(after: nil, capacity: 4)
        for position in Int64(1)...23 {
            let hash = [UInt8](repeating: UInt8(position % 251), count: 32)
            try hash.withUnsafeBytes { try events.append(LogCursor(transactionID: 700, position: position), contentHash: $0) }
        }
        #expect(events.count == 23 && events.leaves == leaves(23) && events.through == LogCursor(transactionID: 700, position: 23))
        #expect(events.merkleRoot() == Seal.merkleRoot(ofLeaves: leaves(23)))
        #expect(events.leafHashes == Seal.leafHashes(leaves(23)).flatMap { $0 })
        #expect(events.follow(nil) && events.headSealNo == 0 && events.after == .start)
        #expect(throws: SealingError.self) {
            try [UInt8](repeating: 1, count: 31).withUnsafeBytes { try events.append(LogCursor(transactionID: 700, position: 24), contentHash: $0) }
        }
        #expect(events.count == 23, "nothing appended")
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
