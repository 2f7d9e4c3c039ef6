import ArgumentParser
import CallAuditDomain
import CallAuditIntegrity
import CallAuditStore
import CallAuditSigning
import CallAuditVault
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Ed25519 keys reports are signed with, and the key-encryption keys personal data is sealed under.", subcommands: [List.self, Rotate.self, Publish.self, RotateKEK.self, RetireKEK.self])

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

extension Keys {
    struct RotateKEK: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Make a new key-encryption key current and re-wrap every data key with it, while the service runs.",
            discussion: """
                The new key is added to the KEK file, which every instance reads (mount the same file everywhere); \
                running instances pick it up on their next batch. The old key stays in the file so anything wrapped \
                with it meanwhile still opens: `keys retire-kek OLD` removes it once nothing uses it. See ops/runbooks/rotate-keys.md.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions

        func run() throws {
            guard case .file(let file) = keys.keyEncryption else {
                throw ValidationError("CALLAUDIT_KEK holds a single key and cannot be rotated: move it into a KEK file (--kek-file) first")
            }
            let old = try keys.keyEncryption.load(create: false)
            let new = try old.addingNewCurrent()
            try new.write(to: file)
            let connection = try database.connect()
            try KEKAcknowledgements.recordCurrent(new.currentID, on: connection)
            let rewrapped = try SubjectVault.open(keys: new, on: connection).rewrapAll(on: connection)
            print("KEK \(new.currentID) is current; re-wrapped \(rewrapped) keys. Retire \(old.currentID) with: callaudit keys retire-kek \(old.currentID)")
        }
    }

    struct RetireKEK: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire-kek",
            abstract: "Re-wrap anything still under an old key-encryption key, then remove it from the KEK file.",
            discussion: """
                Refused while a running instance (on any host) still acknowledges the old key as the one it wraps with: \
                give it the current KEK file first. Once retired, the database refuses any key wrapped with the old KEK. \
                See ops/runbooks/rotate-keys.md.
                """)
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @Argument(help: "The KEK id to retire (keys rotate-kek printed it).") var id: String

        func run() throws {
            guard case .file(let file) = keys.keyEncryption else { throw ValidationError("retiring a KEK needs the KEK file (--kek-file)") }
            let current = try keys.keyEncryption.load(create: false)
            guard id != current.currentID else { throw ValidationError("\(id) is the current KEK: rotate first") }
            guard current.ids.contains(id) else { throw ValidationError("\(id) is not in \(file.path)") }
            let connection = try database.connect()
            let vault = try SubjectVault.open(keys: current, on: connection)
            let rewrapped = try vault.rewrapAll(on: connection)
            // Refused while any live instance (on any host) still wraps with it, or any key is still wrapped with
            // it; checked and recorded in one transaction, after which the database refuses keys wrapped with it.
            // Instances re-read their KEK file every few seconds: give those that already have the new file time to say so.
            let patience = ContinuousClock.now + KEKAcknowledgements.refreshInterval * 3
            while true {
                do {
                    try KEKAcknowledgements.retire(id, on: connection)
                    break
                } catch let refusal as KEKAcknowledgements.RetirementRefusal {
                    guard case .inUse = refusal, ContinuousClock.now < patience else { throw ValidationError("\(refusal)") }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            try current.removing(id).write(to: file)
            print("re-wrapped \(rewrapped) more; KEK \(id) removed from \(file.path)")
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a report's signature offline: no server, no database.",
        discussion: """
            The report must be the file as downloaded (its RFC 8785 canonical bytes); the signature may be the 64 raw \
            bytes or the JSON form; the key a PEM public key or the key list from /v1/keys (`callaudit keys public`). \
            The same key signs seals and export manifests, so the file must also say it is a report \
            ("type": "callaudit.report"); anything else is refused however good its signature. A report issued \
            before reports named their kind is accepted only with --legacy-report. Exits 0 when valid, 1 otherwise.
            """)

    @Argument(help: "The report JSON, as downloaded.") var report: String
    @Option(help: "The signature: report.sig (raw) or signature.json.") var signature: String
    @Option(help: "A PEM public key.") var key: String?
    @Option(help: "The key list served at /v1/keys.") var keys: String?
    @Option(
        parsing: .upToNextOption,
        help: "The report's inclusion proofs: proofs.json from `reports show`, or every page of GET /v1/reports/{id}/proofs (several files, or the option again). Each cited event's path to a signed seal is checked too.")
    var proofs: [String] = []
    @Flag(help: "Accept a report signed before reports named their kind (no \"type\" member), if it has every member a report had then.") var legacyReport = false

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
            try DocumentKind.report.check(document, acceptUnnamed: legacyReport)
            guard document.canonicalBytes == content else {
                throw ValidationError("the signature holds, but the file is not in RFC 8785 canonical form")
            }
            let unnamed = document[DocumentKind.member] == nil ? " (issued before reports named their kind)" : ""
            print("valid: report \(document["report_id"]?.stringValue ?? "?") version \(Int(document["version"]?.numberValue ?? 0))\(unnamed), signed by key \(used.keyID)")
            if !proofs.isEmpty { try checkProofs(try proofs.map { try JSONParser.parse(try read($0)) }, report: document, keys: candidates) }
        } catch let error as SigningError {
            FileHandle.standardError.write(Data("INVALID: \(error)\(hint(for: error))\n".utf8))
            throw ExitCode(1)
        } catch let error as ProofError {
            FileHandle.standardError.write(Data("INVALID: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Every event the findings cite has a proof (or is listed as not yet sealed) in one of the pages, every
    /// proof leads to a signed seal of its page, and every page that names its report names this one.
    private func checkProofs(_ pages: [JSONValue], report: JSONValue, keys: [PublicKeyRecord]) throws {
        var held = 0
        var proven: Set<String> = []
        var unsealed: Set<String> = []
        var seals: [String: JSONValue] = [:]
        for page in pages {
            if let named = page["report"], named["report_id"] != report["report_id"] || named["version"] != report["version"] {
                throw ProofError.malformed("a proofs file is for report \(named["report_id"]?.stringValue ?? "?") version \(Int(named["version"]?.numberValue ?? 0)), not this one")
            }
            held += try InclusionProofs.verify(page, keys: keys)
            proven.formUnion((page["proofs"]?.arrayValue ?? []).compactMap { $0["event_id"]?.stringValue })
            unsealed.formUnion((page["unsealed"]?.arrayValue ?? []).compactMap(\.stringValue))
            for (number, seal) in page["seals"]?.objectValue ?? [] { seals[number] = seal }
        }
        let cited = Set((report["findings"]?.arrayValue ?? []).flatMap { $0["evidence"]?.arrayValue ?? [] }.compactMap(\.stringValue))
        let missing = cited.subtracting(proven).subtracting(unsealed)
        guard missing.isEmpty else {
            throw ProofError.malformed("\(missing.count) cited event(s) have no proof, e.g. \(missing.sorted().first!)\(pages.count > 1 || pages.first?["page"]?["next"]?.stringValue != nil ? " (is a page missing?)" : "")")
        }
        if let named = report["event_store"]?["seal"], named != .null, let number = named["seal"]?.numberValue.map({ String(Int($0)) }),
            let held = seals[number], held["sha256"] != named["sha256"]
        {
            throw ProofError.badSeal(number, "it is not the seal the report names")
        }
        let names = seals.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: ", ")
        print("valid: \(held) inclusion proof(s) of cited events lead to signed seal(s) \(names)\(unsealed.isEmpty ? "" : "; \(unsealed.count) not yet sealed")")
    }

    /// What to do about a document that names no kind: it may be a report from before reports named theirs.
    private func hint(for error: SigningError) -> String {
        guard case .unnamedKind = error, !legacyReport else { return "" }
        return "; if it is a report issued before reports named their kind, check it with --legacy-report"
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
