import Crypto
import Foundation

/// Ed25519 keys in the PEM forms OpenSSL reads and writes: SubjectPublicKeyInfo
/// (`PUBLIC KEY`) and PKCS #8 (`PRIVATE KEY`), RFC 8410. Both are a fixed DER
/// prefix before the 32 raw key bytes, so no ASN.1 parser is needed.
package enum Ed25519PEM {
    private static let publicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
    private static let privatePrefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    package static func encode(_ key: Curve25519.Signing.PublicKey) -> String {
        pem("PUBLIC KEY", publicPrefix + key.rawRepresentation)
    }

    package static func encode(_ key: Curve25519.Signing.PrivateKey) -> String {
        pem("PRIVATE KEY", privatePrefix + key.rawRepresentation)
    }

    package static func publicKey(pem text: String) throws(SigningError) -> Curve25519.Signing.PublicKey {
        let der = try decode(text, label: "PUBLIC KEY")
        guard der.count == publicPrefix.count + 32, Array(der.prefix(publicPrefix.count)) == publicPrefix,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
        else { throw SigningError.malformedKey("not an Ed25519 public key") }
        return key
    }

    package static func privateKey(pem text: String) throws(SigningError) -> Curve25519.Signing.PrivateKey {
        let der = try decode(text, label: "PRIVATE KEY")
        guard der.count == privatePrefix.count + 32, Array(der.prefix(privatePrefix.count)) == privatePrefix,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        else { throw SigningError.malformedKey("not an Ed25519 private key") }
        return key
    }

    private static func pem(_ label: String, _ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    private static func decode(_ text: String, label: String) throws(SigningError) -> [UInt8] {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN \(label)-----"),
            let end = lines[begin...].firstIndex(of: "-----END \(label)-----"),
            let der = Data(base64Encoded: lines[(begin + 1)..<end].joined())
        else { throw SigningError.malformedKey("no \(label) PEM block") }
        return Array(der)
    }
}
