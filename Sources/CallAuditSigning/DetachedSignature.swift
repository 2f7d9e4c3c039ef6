import CallAuditDomain
import Crypto
import Foundation

/// A detached Ed25519 signature over exact bytes: `{"alg":"Ed25519","key_id":…,"signature":base64}`.
///
/// The raw 64 bytes are what `openssl pkeyutl -verify -rawin -sigfile` reads;
/// the JSON form names the key that made it.
package struct DetachedSignature: Sendable, Equatable {
    package var keyID: String
    package var bytes: [UInt8]

    package init(keyID: String, bytes: [UInt8]) {
        self.keyID = keyID
        self.bytes = bytes
    }

    package var json: JSONValue {
        ["alg": "Ed25519", "key_id": .string(keyID), "signature": .string(Data(bytes).base64EncodedString())]
    }

    /// Reads the JSON form, or the raw 64 bytes (which name no key).
    package init(reading data: [UInt8]) throws(SigningError) {
        if data.count == 64 {
            self.init(keyID: "", bytes: data)
            return
        }
        guard let document = try? JSONParser.parse(data), document["alg"] == "Ed25519",
            let keyID = document["key_id"]?.stringValue, let text = document["signature"]?.stringValue,
            let raw = Data(base64Encoded: text), raw.count == 64
        else { throw .malformedSignature("expected 64 raw bytes or {\"alg\":\"Ed25519\",\"key_id\":…,\"signature\":base64}") }
        self.init(keyID: keyID, bytes: Array(raw))
    }

    /// Checks the signature over `content` with `key`.
    package func verify(_ content: [UInt8], with key: PublicKeyRecord) throws(SigningError) {
        guard key.publicKey.isValidSignature(bytes, for: content) else { throw .badSignature(keyID: key.keyID) }
    }

    /// Checks against whichever published key the signature names; a raw
    /// signature, which names none, is tried against each.
    package func verify(_ content: [UInt8], withAnyOf keys: [PublicKeyRecord]) throws(SigningError) -> PublicKeyRecord {
        if !keyID.isEmpty {
            guard let key = keys.first(where: { $0.keyID == keyID }) else { throw .unknownKey(keyID) }
            try verify(content, with: key)
            return key
        }
        guard let key = keys.first(where: { $0.publicKey.isValidSignature(bytes, for: content) }) else {
            throw .badSignature(keyID: keys.map(\.keyID).joined(separator: ", "))
        }
        return key
    }
}
