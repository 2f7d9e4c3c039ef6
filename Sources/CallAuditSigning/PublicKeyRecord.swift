import CallAuditDomain
import Crypto

/// A published signing key: its id, PEM, and whether it still signs.
package struct PublicKeyRecord: Sendable, Equatable {
    package enum Status: String, Sendable { case current, retired }

    package var keyID: String
    /// The 32 raw key bytes (swift-crypto's key type is not Sendable).
    package var rawPublicKey: [UInt8]
    package var status: Status
    package var createdAt: Timestamp
    package var retiredAt: Timestamp?

    package init(keyID: String, publicKey: Curve25519.Signing.PublicKey, status: Status, createdAt: Timestamp, retiredAt: Timestamp? = nil) {
        self.keyID = keyID
        self.rawPublicKey = Array(publicKey.rawRepresentation)
        self.status = status
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }

    package var publicKey: Curve25519.Signing.PublicKey {
        // The bytes came from a valid key, so they make one again.
        try! Curve25519.Signing.PublicKey(rawRepresentation: rawPublicKey)
    }

    /// The first 16 hex digits of SHA-256 over the raw public key.
    package static func keyID(of key: Curve25519.Signing.PublicKey) -> String {
        Array(SHA256.hash(data: key.rawRepresentation).prefix(8)).hexString
    }

    package var pem: String { Ed25519PEM.encode(publicKey) }

    /// As published at `/v1/keys` and in the key folder's `keys.json`.
    package var json: JSONValue {
        [
            "key_id": .string(keyID), "alg": "Ed25519", "status": .string(status.rawValue), "created_at": .string(createdAt.rfc3339),
            "retired_at": retiredAt.map { .string($0.rfc3339) } ?? .null, "public_key_pem": .string(pem),
        ]
    }

    package init(json: JSONValue) throws(SigningError) {
        guard let keyID = json["key_id"]?.stringValue, let pem = json["public_key_pem"]?.stringValue,
            let status = json["status"]?.stringValue.flatMap(Status.init), let created = json["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        else { throw .malformedKey("a key entry needs key_id, status, created_at and public_key_pem") }
        self.init(
            keyID: keyID, publicKey: try Ed25519PEM.publicKey(pem: pem), status: status, createdAt: created,
            retiredAt: json["retired_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
    }

    /// The key list `/v1/keys` serves and `callaudit verify --keys` reads: `{"keys":[…]}`.
    package static func list(_ keys: [PublicKeyRecord]) -> JSONValue { ["keys": .array(keys.map(\.json))] }

    package static func parseList(_ bytes: [UInt8]) throws(SigningError) -> [PublicKeyRecord] {
        guard let document = try? JSONParser.parse(bytes), let entries = document["keys"]?.arrayValue else {
            throw .malformedKey("expected {\"keys\": [...]} as served at /v1/keys")
        }
        var keys: [PublicKeyRecord] = []
        for entry in entries { keys.append(try PublicKeyRecord(json: entry)) }
        return keys
    }
}
