import ArgumentParser
import CallAuditDomain
import CallAuditIntegrity
import CallAuditSigning
import Foundation

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
