import CallAuditDomain
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The key-encryption keys (KEKs) that wrap every data key. Never stored in
/// the database and never logged: they come from a file (`--kek-file`) or
/// the environment (`CALLAUDIT_KEK`, one base64 key).
///
/// The file is `{"current": ID, "keys": {ID: base64, …}}`: a rotation adds a
/// new current key and re-wraps every data key with it while the old key still
/// unwraps what has not been re-wrapped yet, so nothing stops.
package struct KeyEncryptionKeys: Sendable {
    package let currentID: String
    private let keys: [String: [UInt8]]
    /// `keys[currentID]`, which `init` requires.
    private let currentKey: [UInt8]
    /// `currentID`'s bytes: the associated data of every wrap.
    private let currentAAD: [UInt8]

    package init(currentID: String, keys: [String: [UInt8]]) throws(VaultError) {
        guard let currentKey = keys[currentID] else { throw .configuration("the KEK file names current key \(currentID) but does not hold it") }
        guard keys.values.allSatisfy({ $0.count == 32 }) else { throw .configuration("every KEK must be 32 bytes (base64 of 32 random bytes)") }
        self.currentID = currentID
        self.keys = keys
        self.currentKey = currentKey
        currentAAD = Array(currentID.utf8)
    }

    /// The ids of every key held, current first.
    package var ids: [String] { [currentID] + keys.keys.filter { $0 != currentID }.sorted() }

    /// A KEK's id: the first 8 hex digits of SHA-256 over it, so files and rows name keys without showing them.
    package static func id(of key: [UInt8]) -> String { Array(SHA256.hash(data: key).prefix(4)).hexString }

    /// From a single base64 key (the environment's form).
    package static func single(base64: String) throws(VaultError) -> KeyEncryptionKeys {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw .configuration("CALLAUDIT_KEK must be base64 of 32 bytes (openssl rand -base64 32)")
        }
        let key = Array(data)
        return try KeyEncryptionKeys(currentID: id(of: key), keys: [id(of: key): key])
    }

    /// Reads a KEK file; when `create` and it does not exist, makes one (mode 0600) with a new key.
    package static func load(file: URL, create: Bool) throws(VaultError) -> KeyEncryptionKeys {
        if !FileManager.default.fileExists(atPath: file.path) {
            guard create else { throw .configuration("\(file.path) does not exist") }
            var generator = SystemRandomNumberGenerator()
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let keys = try KeyEncryptionKeys(currentID: id(of: key), keys: [id(of: key): key])
            try keys.write(to: file, creating: true)
            return keys
        }
        guard let data = FileManager.default.contents(atPath: file.path), let document = try? JSONParser.parse(Array(data)),
            let current = document["current"]?.stringValue, let members = document["keys"]?.objectValue
        else { throw .configuration("\(file.path) is not a KEK file ({\"current\": ID, \"keys\": {ID: base64}})") }
        var keys: [String: [UInt8]] = [:]
        for (name, value) in members {
            guard let text = value.stringValue, let key = Data(base64Encoded: text) else { throw .configuration("\(file.path): key \(name) is not base64") }
            keys[name] = Array(key)
        }
        return try KeyEncryptionKeys(currentID: current, keys: keys)
    }

    /// The same keys with a new current one added.
    package func addingNewCurrent() throws(VaultError) -> KeyEncryptionKeys {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var keys = self.keys
        keys[Self.id(of: key)] = key
        return try KeyEncryptionKeys(currentID: Self.id(of: key), keys: keys)
    }

    /// The same keys without `id` (after nothing is wrapped with it any more).
    package func removing(_ id: String) throws(VaultError) -> KeyEncryptionKeys {
        var keys = self.keys
        keys[id] = nil
        return try KeyEncryptionKeys(currentID: currentID, keys: keys)
    }

    /// Writes the file atomically with mode 0600.
    package func write(to file: URL, creating: Bool = false) throws(VaultError) {
        let document = JSONValue.object([
            ("current", .string(currentID)),
            ("keys", .object(keys.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string(Data($0.value).base64EncodedString())) })),
        ])
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(getpid())")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw .configuration("cannot write \(temporary.path)") }
        let bytes = document.canonicalBytes
        let written = Glibc.write(descriptor, bytes, bytes.count)
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary.path, file.path) == 0 else { throw .configuration("cannot write \(file.path)") }
    }

    /// Wraps a data key with the current KEK: AES-GCM, the KEK id as associated data.
    package func wrap(_ dataKey: [UInt8]) throws -> (kekID: String, wrapped: [UInt8]) {
        try wrap(dataKey, nonce: randomBytes(12))
    }

    /// The same with a random nonce the caller drew (the vault draws a batch's
    /// from one pool: swift-crypto's own nonce costs two system calls).
    func wrap(_ dataKey: [UInt8], nonce: [UInt8]) throws -> (kekID: String, wrapped: [UInt8]) {
        (currentID, try currentWrapper().wrap(dataKey, nonce: nonce))
    }

    /// The current KEK set up once for wrapping a batch's new persons' keys.
    func currentWrapper() -> KeyWrapper { KeyWrapper(key: SymmetricKey(data: currentKey), aad: currentAAD) }

    package func unwrap(_ wrapped: [UInt8], kekID: String) throws(VaultError) -> [UInt8] {
        guard let kek = keys[kekID] else { throw .missingKEK(kekID) }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return Array(try AES.GCM.open(box, using: SymmetricKey(data: kek), authenticating: Array(kekID.utf8)))
        } catch {
            throw .corrupt("a wrapped key does not open with KEK \(kekID)")
        }
    }
}

/// The current KEK as a `SymmetricKey`, made once for many wraps: one per new
/// person was about 450 instructions each (BENCHMARKS.md, issue 21). Lives
/// for one call of `SubjectVault.persist`, like the keys it wraps.
struct KeyWrapper {
    let key: SymmetricKey
    /// The KEK's id: the associated data of every wrap.
    let aad: [UInt8]

    /// nonce ‖ AES-GCM ciphertext ‖ tag of a data key, the form `unwrap` opens.
    func wrap(_ dataKey: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        let sealed = try AES.GCM.seal(dataKey, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: aad)
        // Copied out through its buffer: `Array(Data)` went through `Data._copyContents` (about 670 instructions a key).
        return sealed.combined!.withUnsafeBytes { Array($0) }
    }
}

/// Why the vault refused. Never carries a key or a value.
package enum VaultError: Error, Equatable, CustomStringConvertible {
    case configuration(String)
    case missingKEK(String)
    case corrupt(String)
    case erased(String)

    package var description: String {
        switch self {
        case .configuration(let why): "key encryption: \(why)"
        case .missingKEK(let id): "data keys wrapped with KEK \(id) cannot be opened: that KEK is not in the KEK file (a rotation not finished?)"
        case .corrupt(let why): "encrypted data is damaged: \(why)"
        case .erased(let what): "\(what) was erased: its key is destroyed"
        }
    }
}
