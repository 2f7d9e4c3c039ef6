import CallAuditDomain
import CallAuditSigning
import CallAuditStore
import Crypto
import Foundation

/// Inclusion proofs for events cited as evidence: each event's leaf (position
/// and content hash), its index in the seal that covers it, and the RFC 9162
/// audit path to that seal's signed Merkle root. With the seals and the
/// public keys, a verifier needs nothing else to see that each cited event was
/// in the sealed log, as it is now.
package enum InclusionProofs {
    /// The proofs document for `eventIDs`: `{"proofs": […], "seals": {n: seal}, "unsealed": [ids]}`.
    package static func document(for eventIDs: [String], on connection: PostgresConnection) throws -> JSONValue {
        try document(located: try locate(eventIDs, on: connection), on: connection)
    }

    /// The proofs document for events already located (`locate`), in log order.
    package static func document(located: [(eventID: String, cursor: LogCursor)], on connection: PostgresConnection) throws -> JSONValue {
        guard !located.isEmpty else { return ["proofs": [], "seals": [:], "unsealed": []] }
        let store = SealStore(connection: connection)
        var seals: [Int64: (seal: Seal, leafHashes: [MerkleTree.Hash], index: [Int64: Int])] = [:]
        var proofs: [JSONValue] = []
        var unsealed: [String] = []
        for (eventID, cursor) in located {
            guard let seal = try cachedSeal(covering: cursor, in: &seals, store: store) else {
                unsealed.append(eventID)
                continue
            }
            guard let index = seal.index[cursor.position] else { continue }
            let leaf = Seal.decodeLeaves(Array(seal.seal.leaves[index * Seal.leafSize..<(index + 1) * Seal.leafSize]))[0]
            proofs.append([
                "event_id": .string(eventID), "position": .number(Double(cursor.position)), "seal": .number(Double(seal.seal.sealNo)),
                "leaf_index": .number(Double(index)), "tree_size": .number(Double(seal.seal.eventCount)),
                "content_sha256": .string(Array(leaf.hash).hexString),
                "audit_path": .array(MerkleTree.inclusionProof(index: index, leafHashes: seal.leafHashes).map { .string($0.hexString) }),
            ])
        }
        let sealMembers = seals.sorted { $0.key < $1.key }.map { (key: String($0.key), value: $0.value.seal.json) }
        return ["proofs": .array(proofs), "seals": .object(sealMembers), "unsealed": .array(unsealed.map { .string($0) })]
    }

    /// Most distinct sources for which events are looked up through the (source, event_id) index.
    static let indexedSources = 1_000

    /// The events with these ids, in log order.
    ///
    /// Findings cite events by id alone, and ids are unique per source, so an
    /// id may name an event of each of several sources: each is proven. Ids
    /// are indexed only with their source (an index of their own would cost
    /// every insert). With few sources (the usual case: one per producing
    /// system) each (source, id) pair is an index probe, and the distinct
    /// sources themselves come from the same index, one probe each. With more
    /// than `indexedSources` the log is read once: callers that serve pages
    /// locate a report's cited events once and keep them (the API does).
    package static func locate(_ eventIDs: [String], on connection: PostgresConnection) throws -> [(eventID: String, cursor: LogCursor)] {
        let wanted = Array(Set(eventIDs)).sorted()
        guard !wanted.isEmpty else { return [] }
        return try EventLog(connection: connection).locate(wanted, probingAtMostSources: indexedSources)
    }

    private static func cachedSeal(
        covering cursor: LogCursor, in cache: inout [Int64: (seal: Seal, leafHashes: [MerkleTree.Hash], index: [Int64: Int])], store: SealStore
    ) throws -> (seal: Seal, leafHashes: [MerkleTree.Hash], index: [Int64: Int])? {
        if let hit = cache.values.first(where: { $0.seal.after < cursor && cursor <= $0.seal.through }) { return hit }
        guard let seal = try store.covering(cursor), seal.after < cursor else { return nil }
        let leaves = Seal.decodeLeaves(seal.leaves)
        let entry = (seal, Seal.leafHashes(seal.leaves), Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ($1.position, $0) }))
        cache[seal.sealNo] = entry
        return entry
    }

    /// Checks a proofs document offline: each seal's signature with `keys`, and
    /// each proof's audit path to its seal's root. Returns how many proofs held.
    package static func verify(_ document: JSONValue, keys: [PublicKeyRecord]) throws(ProofError) -> Int {
        var roots: [String: (root: [UInt8], size: Int)] = [:]
        for (number, seal) in document["seals"]?.objectValue ?? [] {
            guard let bodyText = seal["body_base64"]?.stringValue, let body = Data(base64Encoded: bodyText).map(Array.init),
                let signature = try? DetachedSignature(reading: (seal["signature"] ?? .null).canonicalBytes)
            else { throw .malformed("seal \(number) lacks its body or signature") }
            do {
                _ = try signature.verify(body, withAnyOf: keys)
            } catch {
                throw .badSeal(number, "its signature does not verify: \(error)")
            }
            guard let parsed = try? JSONParser.parse(body) else { throw .badSeal(number, "its body is not JSON") }
            // The key signs reports and export manifests too: what it signed here must say it is a seal.
            do {
                try DocumentKind.seal.check(parsed)
            } catch {
                throw .badSeal(number, "\(error)")
            }
            guard let root = parsed["merkle_root"]?.stringValue.flatMap({ [UInt8](hexString: $0) }), let size = parsed["events"]?.numberValue
            else { throw .badSeal(number, "its body names no Merkle root") }
            roots[number] = (root, Int(size))
        }
        var held = 0
        for proof in document["proofs"]?.arrayValue ?? [] {
            guard let number = proof["seal"]?.numberValue.map({ String(Int($0)) }), let sealed = roots[number],
                let position = proof["position"]?.numberValue, let index = proof["leaf_index"]?.numberValue,
                let hash = proof["content_sha256"]?.stringValue.flatMap({ [UInt8](hexString: $0) }),
                let path = proof["audit_path"]?.arrayValue?.compactMap({ $0.stringValue.flatMap { [UInt8](hexString: $0) } })
            else { throw .malformed("a proof lacks a field or names a seal the file does not hold") }
            let leaf = MerkleTree.leafHash(Seal.leaf(position: Int64(position), contentHash: hash))
            guard MerkleTree.verify(leafHash: leaf, index: Int(index), size: sealed.size, proof: path, root: sealed.root) else {
                throw .badProof(proof["event_id"]?.stringValue ?? "?", Int64(position))
            }
            held += 1
        }
        return held
    }
}

/// Why a proofs document does not hold.
package enum ProofError: Error, CustomStringConvertible {
    case malformed(String)
    case badSeal(String, String)
    case badProof(String, Int64)

    package var description: String {
        switch self {
        case .malformed(let problem): "malformed proofs: \(problem)"
        case .badSeal(let number, let problem): "seal \(number): \(problem)"
        case .badProof(let eventID, let position): "the proof for event \(eventID) at position \(position) does not lead to its seal's root"
        }
    }
}
