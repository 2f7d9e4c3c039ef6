import CallAuditDomain

/// The kinds of document CallAudit's one signing key signs.
///
/// Each names its kind in a top-level `type` member of the very bytes that
/// are signed, and every verifier checks it, so a signature over one kind
/// never vouches for another: a seal body passed as a report, or a report
/// passed as an export manifest, is refused although its signature holds.
/// (OpenSSL 3.0 has no Ed25519ctx context strings, and `openssl pkeyutl
/// -verify -rawin` must keep working on the bytes as served, so the kind is
/// inside the document rather than in the signature.)
///
/// Seals have named themselves `callaudit.seal` since the first one; reports
/// and export manifests signed before their `type` was added name no kind and
/// pass a verifier only when it is told to accept them (`acceptUnnamed`), and
/// only if they have every member their kind always had.
package enum DocumentKind: String, Sendable, CaseIterable {
    case report = "callaudit.report"
    case seal = "callaudit.seal"
    case exportManifest = "callaudit.export_manifest"

    /// The top-level member naming the kind.
    package static let member = "type"

    /// What people call it, in messages.
    package var name: String {
        switch self {
        case .report: "report"
        case .seal: "seal"
        case .exportManifest: "export manifest"
        }
    }

    /// "a report", "an export manifest".
    package var withArticle: String { self == .exportManifest ? "an \(name)" : "a \(name)" }

    /// What a document whose `type` is `type` is, for messages.
    package static func described(type: String) -> String {
        DocumentKind(rawValue: type)?.withArticle ?? "a document of type \(quoted(type))"
    }

    /// Checks that `document` is of this kind. One that names no kind passes
    /// only with `acceptUnnamed`, and only with every member this kind had
    /// before kinds were named (which no other kind has).
    package func check(_ document: JSONValue, acceptUnnamed: Bool = false) throws(SigningError) {
        switch document[Self.member] {
        case .string(rawValue)?:
            return
        case .string(let other)?:
            throw .wrongKind(expected: self, found: Self.described(type: other))
        case let value?:
            throw .wrongKind(expected: self, found: "a document whose type is a JSON \(value.typeName)")
        case nil:
            guard acceptUnnamed, hasUnnamedShape(document) else { throw .unnamedKind(expected: self) }
        }
    }

    /// The members a document of this kind always had before it named its kind.
    /// Seals always named theirs: none is accepted unnamed.
    private var unnamedMembers: Set<String>? {
        switch self {
        case .report: ["report_id", "kind", "version", "status", "period", "generated_at", "policy", "event_store", "findings"]
        case .exportManifest: ["request_id", "generated_at", "files", "signature"]
        case .seal: nil
        }
    }

    private func hasUnnamedShape(_ document: JSONValue) -> Bool {
        guard let required = unnamedMembers, let members = document.objectValue else { return false }
        let names = Set(members.map(\.key))
        // A manifest had exactly its four members; a report had more than the ones listed.
        return self == .exportManifest ? names == required : names.isSuperset(of: required)
    }

    /// The kind a document's bytes name, read without building the document
    /// (a month's report is megabytes of findings): nil if it names none.
    package static func named(inBytes bytes: [UInt8]) -> String? {
        (try? JSONParser.outline(bytes, depth: 0, members: [member]))?[member]?.stringValue
    }

    /// Another kind's name as found in a document, bounded: it is the signer's text, shown in a message.
    private static func quoted(_ text: String) -> String {
        "\"" + String(text.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init)) + "\""
    }
}
