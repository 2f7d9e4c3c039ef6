import CallAuditDomain
import CallAuditSigning
import Crypto
import Foundation

/// The seal chain's head as kept outside the database (`seals head`, or
/// `GET /v1/seals/{n}`), and what a database says against it.
///
/// verify-store proves the store agrees with its own seals; it cannot tell a
/// store whose newest seals were cut off (or whose chain was rebuilt with a
/// stolen key) from the real one. A head kept where whoever could rewrite the
/// database cannot reach it can: the database must still hold that seal,
/// byte for byte.
package struct KeptHead: Sendable {
    package var sealNo: Int64
    /// The signed body, exactly as signed.
    package var body: [UInt8]
    package var signature: DetachedSignature

    package var sha256: String { Array(SHA256.hash(data: body)).hexString }

    package enum Problem: Error, CustomStringConvertible {
        case unreadable
        case hashMismatch

        package var description: String {
            switch self {
            case .unreadable: "the kept head is not a seal as `seals head`, GET /v1/seals/head or GET /v1/seals/{n} print it"
            case .hashMismatch: "the kept head's sha256 is not the hash of its body"
            }
        }
    }

    /// Reads the JSON of `Seal.json` (`seal`, `body_base64`, `signature`, `sha256`), as `seals head` and
    /// GET /v1/seals/{n} print it, or GET /v1/seals/head's answer, which holds it as `head`.
    package init(reading bytes: [UInt8]) throws {
        guard var document = try? JSONParser.parse(bytes) else { throw Problem.unreadable }
        if document["seal"] == nil, let head = document["head"], head.objectValue != nil { document = head }
        guard let number = document["seal"]?.numberValue,
            let encoded = document["body_base64"]?.stringValue, let body = Data(base64Encoded: encoded),
            let signature = document["signature"], let parsed = try? DetachedSignature(reading: signature.canonicalBytes)
        else { throw Problem.unreadable }
        sealNo = Int64(number)
        self.body = Array(body)
        self.signature = parsed
        if let claimed = document["sha256"]?.stringValue, claimed != sha256 { throw Problem.hashMismatch }
    }

    /// What the database holds against this head.
    package enum Finding: Sendable, Equatable {
        /// The same seal, byte for byte; `after` seals follow it.
        case held(after: Int64)
        /// No seal of that number: the newest the database has.
        case missing(newest: Int64)
        /// A seal of that number with another body or signature, and its hash.
        case different(storedSHA256: String)
    }

    /// Checks the kept signature against `keys` (throws if it does not verify: a
    /// kept head nobody signed proves nothing), then looks the seal up in `store`.
    package func check(in store: SealStore, keys: [PublicKeyRecord]) throws -> (finding: Finding, keyID: String) {
        let signer = try signature.verify(body, withAnyOf: keys)
        try DocumentKind.seal.check(try JSONParser.parse(body))
        let newest = try store.head()?.sealNo ?? 0
        guard let stored = try store.seal(sealNo) else { return (.missing(newest: newest), signer.keyID) }
        guard stored.body == body, stored.signature == signature.bytes else {
            return (.different(storedSHA256: stored.hash.hexString), signer.keyID)
        }
        return (.held(after: newest - sealNo), signer.keyID)
    }
}
