import ArgumentParser
import CallAuditDomain
import CallAuditStore
import CallAuditSigning
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Ed25519 keys reports are signed with.", subcommands: [List.self, Rotate.self, Publish.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key in the folder: id, status, dates.")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            for key in try KeyRing.openExisting(keys.directory).published {
                print(pad(key.keyID, 18) + pad(key.status.rawValue, 9) + "created \(key.createdAt.rfc3339)" + (key.retiredAt.map { ", retired \($0.rfc3339)" } ?? ""))
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new signing key; the old one is retired but stays published, so what it signed still verifies.")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            let old = try KeyRing.openExisting(keys.directory)
            let new = try old.rotate()
            print("current key \(new.current.keyID); retired \(old.current.keyID)")
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public", abstract: "Print the public keys as served at /v1/keys (what `verify --keys` reads).")
        @OptionGroup var keys: KeyOptions

        func run() throws {
            print(PublicKeyRecord.list(try KeyRing.openExisting(keys.directory).published).canonicalString)
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a report's signature offline: no server, no database.",
        discussion: """
            The report must be the file as downloaded (its RFC 8785 canonical bytes); the signature may be the 64 raw \
            bytes or the JSON form; the key a PEM public key or the key list from /v1/keys (`callaudit keys public`). \
            Exits 0 when valid, 1 otherwise.
            """)

    @Argument(help: "The report JSON, as downloaded.") var report: String
    @Option(help: "The signature: report.sig (raw) or signature.json.") var signature: String
    @Option(help: "A PEM public key.") var key: String?
    @Option(help: "The key list served at /v1/keys.") var keys: String?

    func validate() throws {
        guard (key == nil) != (keys == nil) else { throw ValidationError("give --key PEM or --keys FILE") }
    }

    func run() throws {
        let content = try read(report)
        let detached = try DetachedSignature(reading: try read(signature))
        let candidates: [PublicKeyRecord]
        if let key {
            let publicKey = try Ed25519PEM.publicKey(pem: String(decoding: try read(key), as: UTF8.self))
            candidates = [PublicKeyRecord(keyID: detached.keyID.isEmpty ? PublicKeyRecord.keyID(of: publicKey) : detached.keyID,
                                          publicKey: publicKey, status: .current, createdAt: Timestamp(microseconds: 0))]
        } else {
            candidates = try PublicKeyRecord.parseList(try read(keys!))
        }
        do {
            let used = try detached.verify(content, withAnyOf: candidates)
            let document = try JSONParser.parse(content)
            guard document.canonicalBytes == content else {
                throw ValidationError("the signature holds, but the file is not in RFC 8785 canonical form")
            }
            print("valid: report \(document["report_id"]?.stringValue ?? "?") version \(Int(document["version"]?.numberValue ?? 0)), signed by key \(used.keyID)")
        } catch let error as SigningError {
            FileHandle.standardError.write(Data("INVALID: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return Array(data)
    }
}

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API bearer tokens: one role each (auditor, dpo, ops, admin); only their hashes are stored.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token; prints it alone (it cannot be shown again).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "auditor, dpo, ops or admin.") var role: String
        @Option(help: "A name for the token (letters, digits, . _ -): what reads are recorded under.") var name: String

        func run() throws {
            guard let role = APIRole(rawValue: role) else { throw ValidationError("--role \(role): one of auditor, dpo, ops, admin") }
            guard name.range(of: "^[A-Za-z0-9._-]{1,64}$", options: .regularExpression) != nil else {
                throw ValidationError("--name \(name): 1 to 64 letters, digits, dots, underscores or dashes")
            }
            print(try APITokenStore(connection: try database.connect()).create(name: name, role: role))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token: name, role, created, revoked.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            for token in try APITokenStore(connection: try database.connect()).list() {
                print(pad(token.name, 24) + pad(token.role.rawValue, 9) + "created \(token.createdAt)" + (token.revokedAt.map { ", revoked \($0)" } ?? ""))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name; the API refuses it within seconds.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The token's name.") var name: String

        func run() throws {
            guard try APITokenStore(connection: try database.connect()).revoke(name: name) else {
                throw ValidationError("no live token named \(name)")
            }
            print("revoked \(name)")
        }
    }
}
