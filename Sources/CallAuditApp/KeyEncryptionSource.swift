import CallAuditVault
import Foundation

/// Where the key-encryption keys come from: `CALLAUDIT_KEK` (one base64 key)
/// when set, else a KEK file (`--kek-file`, default `kek.json` in the key
/// folder), made with a new key on first start.
package enum KeyEncryptionSource: Sendable, Equatable {
    case environment(String)
    case file(URL)

    package static func resolve(file: String?, keyDirectory: URL, environment: [String: String]) -> KeyEncryptionSource {
        if let base64 = environment["CALLAUDIT_KEK"] { return .environment(base64) }
        return .file(file.map { URL(fileURLWithPath: $0) } ?? keyDirectory.appendingPathComponent("kek.json"))
    }

    /// The keys; a missing file is made only when `create` (serve's first start).
    package func load(create: Bool) throws(ConfigurationError) -> KeyEncryptionKeys {
        do {
            switch self {
            case .environment(let base64): return try KeyEncryptionKeys.single(base64: base64)
            case .file(let url):
                if create {
                    try FileManager.default.createDirectory(
                        at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                }
                return try KeyEncryptionKeys.load(file: url, create: create)
            }
        } catch let error as VaultError {
            throw ConfigurationError(
                setting: setting.name, value: setting.value, problem: error.description, fix: "point the setting at the KEK file, or set CALLAUDIT_KEK")
        } catch {
            throw ConfigurationError(setting: setting.name, value: setting.value, problem: "\(error)")
        }
    }

    /// Where the keys come from, for messages: the file's path, or the variable's name (never a key).
    package var displayName: String { setting.value.isEmpty ? setting.name : "\(setting.name) \(setting.value)" }

    /// The setting that says where the keys are, and its value (a path; never a key).
    package var setting: (name: String, value: String) {
        switch self {
        case .environment: ("CALLAUDIT_KEK", "")
        case .file(let url): ("keyEncryption", url.path)
        }
    }
}
