import CallAuditDomain
import CallAuditSigning
import Crypto
import Foundation
import ZIPFoundation

/// An access export as the person receives it: one ZIP holding `export.json`
/// and its JSON Schema, a CSV per section, `summary.html`, and `manifest.json`
/// (`"type": "callaudit.export_manifest"` and every file's SHA-256) signed as `manifest.sig` (64 raw Ed25519 bytes, the
/// report keys, so `openssl pkeyutl -verify -rawin` checks it).
package struct ExportPackage: Sendable {
    package var files: [(name: String, bytes: [UInt8])]
    package var manifest: [UInt8]
    package var signature: DetachedSignature

    package static let schema = [UInt8](PackageResources.export_schema_json)

    /// Renders and signs the export.
    package init(_ export: AccessExport, signingKey: SigningKey) throws {
        let document = export.document
        files = [
            ("export.json", Array((document.prettyPrinted() + "\n").utf8)),
            ("export.schema.json", Self.schema),
            ("calls.csv", Array(ExportRenderer.callsCSV(document).utf8)),
            ("recordings.csv", Array(ExportRenderer.recordingsCSV(document).utf8)),
            ("accesses.csv", Array(ExportRenderer.accessesCSV(document).utf8)),
            ("transfers.csv", Array(ExportRenderer.transfersCSV(document).utf8)),
            ("summary.html", Array(ExportRenderer.html(document).utf8)),
        ]
        let manifestDocument: JSONValue = [
            // What the document is, inside the signed bytes: the same key signs reports and seals.
            DocumentKind.member: .string(DocumentKind.exportManifest.rawValue),
            "request_id": .string(export.request.id),
            "generated_at": .string(export.generatedAt.rfc3339),
            "files": .array(files.map { file in
                ["name": .string(file.name), "sha256": .string(Array(SHA256.hash(data: file.bytes)).hexString), "bytes": .number(Double(file.bytes.count))]
            }),
            "signature": ["alg": "Ed25519", "key_id": .string(signingKey.keyID), "file": "manifest.sig"],
        ]
        manifest = Array((manifestDocument.prettyPrinted() + "\n").utf8)
        signature = try signingKey.sign(manifest, as: .exportManifest)
    }

    package var manifestSHA256: String { Array(SHA256.hash(data: manifest)).hexString }

    /// The ZIP: the files, then the manifest and its signature.
    package func zip() throws -> [UInt8] {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, bytes) in files + [("manifest.json", manifest), ("manifest.sig", signature.bytes)] {
            let data = Data(bytes)
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: Date(timeIntervalSince1970: 0),
                compressionMethod: .deflate
            ) { position, size in data.subdata(in: Int(position)..<Int(position) + size) }
        }
        guard let data = archive.data else { throw ExportError.unreadable("the archive was not written") }
        return Array(data)
    }
}

/// An export that does not check out.
package enum ExportError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case tampered(String)

    package var description: String {
        switch self {
        case .unreadable(let problem): "not a CallAudit export: \(problem)"
        case .tampered(let problem): "the export does not verify: \(problem)"
        }
    }
}

extension ExportPackage {
    /// Checks a received export: the manifest's signature with the published
    /// keys, that it is an export manifest (not a report or seal signed by the
    /// same key), then every file against it, and that nothing was added.
    /// A manifest signed before manifests named their kind passes only with
    /// `acceptUnnamed`. Returns the key that signed it.
    package static func verify(zip bytes: [UInt8], keys: [PublicKeyRecord], acceptUnnamed: Bool = false) throws -> PublicKeyRecord {
        let archive: Archive
        do { archive = try Archive(data: Data(bytes), accessMode: .read) } catch { throw ExportError.unreadable("not a ZIP file") }
        var contents: [String: [UInt8]] = [:]
        for entry in archive {
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            contents[entry.path] = Array(data)
        }
        guard let manifestBytes = contents.removeValue(forKey: "manifest.json"), let signatureBytes = contents.removeValue(forKey: "manifest.sig"),
            let manifest = try? JSONParser.parse(manifestBytes), let keyID = manifest["signature"]?["key_id"]?.stringValue
        else { throw ExportError.unreadable("manifest.json or manifest.sig is missing") }
        let signature = try DetachedSignature(reading: signatureBytes)
        let key = try DetachedSignature(keyID: keyID, bytes: signature.bytes).verify(manifestBytes, withAnyOf: keys)
        try DocumentKind.exportManifest.check(manifest, acceptUnnamed: acceptUnnamed)
        let listed = manifest["files"]?.arrayValue ?? []
        for file in listed {
            guard let name = file["name"]?.stringValue, let expected = file["sha256"]?.stringValue else { throw ExportError.unreadable("a manifest entry lacks name or sha256") }
            guard let content = contents.removeValue(forKey: name) else { throw ExportError.tampered("\(name) is listed but missing") }
            guard Array(SHA256.hash(data: content)).hexString == expected else { throw ExportError.tampered("\(name) was changed") }
        }
        guard contents.isEmpty else { throw ExportError.tampered("\(contents.keys.sorted().joined(separator: ", ")) not in the manifest") }
        return key
    }
}
