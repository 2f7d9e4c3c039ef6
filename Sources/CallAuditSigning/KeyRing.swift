import CallAuditDomain
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The signing keys in a folder: one current private key (mode 0600) that
/// signs, and `keys.json`, every public key ever used, current or retired, so
/// that anything signed before a rotation still verifies.
///
/// The folder is created (mode 0700) with a first key when it does not exist.
/// Private keys never leave it: not in logs, errors or the database.
package final class KeyRing: Sendable {
    package let directory: URL
    package let current: SigningKey
    package let published: [PublicKeyRecord]

    private init(directory: URL, current: SigningKey, published: [PublicKeyRecord]) {
        self.directory = directory
        self.current = current
        self.published = published
    }

    /// Opens the folder, making it and a first key if there are none.
    package static func open(_ directory: URL, now: Timestamp = .now) throws(SigningError) -> KeyRing {
        let registry = directory.appendingPathComponent("keys.json")
        if !FileManager.default.fileExists(atPath: registry.path) {
            try create(directory)
            let key = SigningKey(privateKey: Curve25519.Signing.PrivateKey())
            try writePrivate(key, in: directory)
            try writeRegistry([key.record(status: .current, createdAt: now)], in: directory)
        }
        return try load(directory)
    }

    /// Opens a folder that must already hold keys (for reading them, not making them).
    package static func openExisting(_ directory: URL) throws(SigningError) -> KeyRing {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("keys.json").path) else {
            throw .keyFolder("\(directory.path) holds no keys.json")
        }
        return try load(directory)
    }

    /// A new current key; the old one is retired (its public key stays published, its private key is removed).
    package func rotate(now: Timestamp = .now) throws(SigningError) -> KeyRing {
        let key = SigningKey(privateKey: Curve25519.Signing.PrivateKey())
        try Self.writePrivate(key, in: directory)
        let retired = published.map { record -> PublicKeyRecord in
            guard record.status == .current else { return record }
            var record = record
            record.status = .retired
            record.retiredAt = now
            return record
        }
        try Self.writeRegistry(retired + [key.record(status: .current, createdAt: now)], in: directory)
        try? FileManager.default.removeItem(at: Self.privateFile(current.keyID, in: directory))
        return try Self.load(directory)
    }

    private static func load(_ directory: URL) throws(SigningError) -> KeyRing {
        guard let bytes = FileManager.default.contents(atPath: directory.appendingPathComponent("keys.json").path) else {
            throw .keyFolder("\(directory.path)/keys.json cannot be read")
        }
        let published = try PublicKeyRecord.parseList(Array(bytes))
        guard let current = published.last(where: { $0.status == .current }) else { throw .keyFolder("keys.json names no current key") }
        let file = privateFile(current.keyID, in: directory)
        guard let pem = try? String(contentsOf: file, encoding: .utf8) else {
            throw .keyFolder("the private key for \(current.keyID) is missing from \(directory.path)")
        }
        let key = SigningKey(privateKey: try Ed25519PEM.privateKey(pem: pem))
        guard key.keyID == current.keyID else { throw .keyFolder("\(file.lastPathComponent) does not hold key \(current.keyID)") }
        return KeyRing(directory: directory, current: key, published: published)
    }

    private static func create(_ directory: URL) throws(SigningError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .keyFolder("cannot create \(directory.path): \(error.localizedDescription)")
        }
    }

    private static func privateFile(_ keyID: String, in directory: URL) -> URL {
        directory.appendingPathComponent("signing-\(keyID).pem")
    }

    /// Written 0600 from the start: the file is created with that mode, not chmod-ed after.
    private static func writePrivate(_ key: SigningKey, in directory: URL) throws(SigningError) {
        let path = privateFile(key.keyID, in: directory).path
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .keyFolder("cannot create \(path)") }
        defer { close(descriptor) }
        let pem = Array(Ed25519PEM.encode(key.privateKey).utf8)
        guard write(descriptor, pem, pem.count) == pem.count, fsync(descriptor) == 0 else { throw .keyFolder("cannot write \(path)") }
    }

    private static func writeRegistry(_ keys: [PublicKeyRecord], in directory: URL) throws(SigningError) {
        do {
            try Data(PublicKeyRecord.list(keys).canonicalBytes).write(to: directory.appendingPathComponent("keys.json"), options: .atomic)
        } catch {
            throw .keyFolder("cannot write keys.json: \(error.localizedDescription)")
        }
    }
}

/// A private signing key and its id. Its description never shows the key.
package struct SigningKey: Sendable, CustomStringConvertible {
    /// The 32 raw key bytes (swift-crypto's key type is not Sendable).
    private let raw: [UInt8]
    package let keyID: String

    init(privateKey: Curve25519.Signing.PrivateKey) {
        raw = Array(privateKey.rawRepresentation)
        keyID = PublicKeyRecord.keyID(of: privateKey.publicKey)
    }

    var privateKey: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: raw) }

    /// Signs a document that names its kind (`DocumentKind`), and nothing
    /// else: the key never signs bytes a verifier could take for another kind.
    package func sign(_ document: [UInt8], as kind: DocumentKind) throws -> DetachedSignature {
        guard let named = DocumentKind.named(inBytes: document) else { throw SigningError.unnamedKind(expected: kind) }
        guard named == kind.rawValue else { throw SigningError.wrongKind(expected: kind, found: DocumentKind.described(type: named)) }
        return try sign(document)
    }

    /// Signs any bytes: only for `sign(_:as:)` and the tests of signatures themselves.
    func sign(_ content: [UInt8]) throws -> DetachedSignature {
        DetachedSignature(keyID: keyID, bytes: Array(try privateKey.signature(for: content)))
    }

    func record(status: PublicKeyRecord.Status, createdAt: Timestamp) -> PublicKeyRecord {
        PublicKeyRecord(keyID: keyID, publicKey: privateKey.publicKey, status: status, createdAt: createdAt)
    }

    package var description: String { "SigningKey(\(keyID))" }
}
