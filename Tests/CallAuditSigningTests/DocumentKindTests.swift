import CallAuditDomain
import Foundation
import Testing

@testable import CallAuditSigning

@Suite("Signed documents say what they are")
struct DocumentKindTests {
    static let report: JSONValue = [
        "type": "callaudit.report", "report_id": "day-2026-11-23", "kind": "day", "version": 1, "status": "final",
        "period": ["from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z", "time_zone": "UTC"], "generated_at": "2026-11-27T00:00:00Z",
        "policy": ["version": "1", "hash": "ab"], "event_store": ["through_position": 1], "findings": [],
    ]
    static let seal: JSONValue = ["type": "callaudit.seal", "version": 1, "seal": 1, "events": 3, "merkle_root": "00"]
    static let manifest: JSONValue = [
        "type": "callaudit.export_manifest", "request_id": "q1", "generated_at": "2026-11-27T00:00:00Z", "files": [],
        "signature": ["alg": "Ed25519", "key_id": "k", "file": "manifest.sig"],
    ]

    static func without(_ member: String, _ document: JSONValue) -> JSONValue {
        .object(document.objectValue!.filter { $0.key != member })
    }

    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
    }

    @Test("each kind accepts its own documents and refuses the other kinds', naming what they are")
    func kindsRefuseEachOther() throws {
        let documents: [DocumentKind: JSONValue] = [.report: Self.report, .seal: Self.seal, .exportManifest: Self.manifest]
        for (kind, document) in documents {
            try kind.check(document)
            for other in DocumentKind.allCases where other != kind {
                #expect(throws: SigningError.wrongKind(expected: other, found: kind.withArticle)) { try other.check(document) }
            }
        }
        #expect(throws: SigningError.wrongKind(expected: .report, found: #"a document of type "call.started""#)) {
            try DocumentKind.report.check(["type": "call.started"])
        }
        let message = String(describing: SigningError.wrongKind(expected: .report, found: DocumentKind.seal.withArticle))
        #expect(message.contains("is a seal, not a report"), "\(message)")
    }

    @Test("a document naming no kind passes only when the verifier is told to accept one, and only with every member its kind had")
    func unnamedDocuments() throws {
        let oldReport = Self.without("type", Self.report)
        let oldManifest = Self.without("type", Self.manifest)
        #expect(throws: SigningError.unnamedKind(expected: .report)) { try DocumentKind.report.check(oldReport) }
        try DocumentKind.report.check(oldReport, acceptUnnamed: true)
        try DocumentKind.exportManifest.check(oldManifest, acceptUnnamed: true)
        #expect(throws: SigningError.unnamedKind(expected: .report)) { try DocumentKind.report.check(oldManifest, acceptUnnamed: true) }
        #expect(throws: SigningError.unnamedKind(expected: .exportManifest)) { try DocumentKind.exportManifest.check(oldReport, acceptUnnamed: true) }
        #expect(throws: SigningError.unnamedKind(expected: .seal)) { try DocumentKind.seal.check(Self.without("type", Self.seal), acceptUnnamed: true) }
        #expect(throws: SigningError.wrongKind(expected: .report, found: "a seal")) { try DocumentKind.report.check(Self.seal, acceptUnnamed: true) }
    }

    @Test("the key signs a document only as the kind it names")
    func signsOnlyNamedKinds() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = try KeyRing.open(folder).current
        _ = try key.sign(Self.report.canonicalBytes, as: .report)
        _ = try key.sign(Array((Self.manifest.prettyPrinted() + "\n").utf8), as: .exportManifest)
        #expect(throws: SigningError.wrongKind(expected: .report, found: "a seal")) { try key.sign(Self.seal.canonicalBytes, as: .report) }
        #expect(throws: SigningError.unnamedKind(expected: .report)) { try key.sign(Self.without("type", Self.report).canonicalBytes, as: .report) }
        #expect(throws: SigningError.unnamedKind(expected: .seal)) { try key.sign(Array("not json".utf8), as: .seal) }
    }

    @Test("changing the kind a signed document names breaks its signature")
    func swappingKindsBreaksTheSignature() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ring = try KeyRing.open(folder)
        let bytes = Self.report.canonicalBytes
        let signature = try ring.current.sign(bytes, as: .report)
        #expect(try signature.verify(bytes, withAnyOf: ring.published).keyID == ring.current.keyID)
        var swapped = Self.without("type", Self.report)
        guard case .object(var members) = swapped else { return }
        members.append((key: "type", value: "callaudit.seal"))
        swapped = .object(members)
        #expect(throws: SigningError.badSignature(keyID: ring.current.keyID)) { try signature.verify(swapped.canonicalBytes, withAnyOf: ring.published) }
        #expect(throws: SigningError.badSignature(keyID: ring.current.keyID)) {
            try signature.verify(Self.without("type", Self.report).canonicalBytes, withAnyOf: ring.published)
        }
    }
}
