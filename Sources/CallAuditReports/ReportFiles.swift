import CallAuditDomain
import CallAuditRendering
import CallAuditSigning

/// The files that let anyone check a report version offline: what
/// `callaudit reports show --out` writes into a folder and what
/// `GET /v1/reports/{id}/bundle` serves as a tar archive, made here once so
/// the two never differ.
package enum ReportFiles {
    /// report.json (the signed bytes), report.sig (64 raw bytes), signature.json, keys.json and
    /// key-<key_id>.pem (when the signing key is among `keys`), proofs.json, report.csv, report.html and README.md.
    /// `proofs` is the proofs document for every event the findings cite (`InclusionProofs.document`).
    package static func files(of report: StoredReport, proofs: JSONValue, keys: [PublicKeyRecord]?) throws -> [USTar.File] {
        let keyID = report.signature.keyID
        let signingKey = keys?.first { $0.keyID == keyID }
        var files = [
            USTar.File("report.json", report.body),
            USTar.File("report.sig", report.signature.bytes),
            USTar.File("signature.json", report.signature.json.canonicalBytes),
        ]
        if let keys { files.append(USTar.File("keys.json", PublicKeyRecord.list(keys).canonicalBytes)) }
        if let signingKey { files.append(USTar.File(pemName(keyID), Array(signingKey.pem.utf8))) }
        files += [
            USTar.File("proofs.json", proofs.canonicalBytes),
            USTar.File("report.csv", try ReportRenderer.csv(report.body)),
            USTar.File("report.html", Array(try ReportRenderer.html(report.body, signature: report.signature, sha256: report.bodySHA256).utf8)),
            USTar.File("README.md", Array(readme(report, withKeys: keys != nil, withPEM: signingKey != nil).utf8)),
        ]
        return files
    }

    /// The event ids the report's findings cite, as its JSON lists them (repeats included).
    package static func citedEvents(_ body: [UInt8]) throws -> [String] {
        try JSONParser.parse(body)["findings"]?.arrayValue?.flatMap { $0["evidence"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? []
    }

    /// The signing key's file: named by its id, so keys of several bundles can sit in one folder.
    package static func pemName(_ keyID: String) -> String { "key-\(keyID).pem" }

    /// How to check the files, with the exact commands.
    static func readme(_ report: StoredReport, withKeys: Bool, withPEM: Bool) -> String {
        let pem = pemName(report.signature.keyID)
        var text = """
            # CallAudit report \(report.reportID), version \(report.version)

            \(report.kind.rawValue) report, \(report.status), period \(report.periodStart.rfc3339) to \(report.periodEnd.rfc3339) \
            (\(report.timeZone)), generated \(report.generatedAt.rfc3339), \(report.findings) findings.
            Signed with Ed25519 key \(report.signature.keyID). SHA-256 of report.json: \(report.bodySHA256).

            ## Files

            - report.json: the report, exactly the bytes that were signed (RFC 8785 canonical JSON).
            - report.sig: the detached Ed25519 signature over report.json, 64 raw bytes.
            - signature.json: the same signature with the id of the key that made it.

            """
        if withKeys { text += "- keys.json: every public key CallAudit signs with, current and retired (as GET /v1/keys serves them).\n" }
        if withPEM { text += "- \(pem): the public key that signed this report, PEM.\n" }
        text += """
            - proofs.json: for every event the findings cite, its path to a signed seal over the event log (or its id under `unsealed`).
            - report.csv: the findings, one row each.
            - report.html: the report for people to read.

            ## Check the signature with OpenSSL (3.0 or later)

            """
        text += withPEM
            ? "```\nopenssl pkeyutl -verify -pubin -inkey \(pem) -rawin -in report.json -sigfile report.sig\n```\n\nIt prints `Signature Verified Successfully`.\n"
            : "The signing key \(report.signature.keyID) was not at hand when these files were made: take it from GET /v1/keys.\n"
        text += """

            ## Check the signature and every cited event's proof with callaudit

            ```
            callaudit verify report.json --signature report.sig --keys keys.json --proofs proofs.json
            ```

            It prints `valid: report \(report.reportID) version \(report.version), signed by key \(report.signature.keyID)` and then what the proofs hold; \
            it exits 1 if anything does not check.
            Only the public keys are needed: no server, no database. `callaudit` is the service's own command: build it from \
            the CallAudit sources (`swift build`, then `.build/debug/callaudit`) or run it from the CallAudit image \
            (`docker run --rm -v "$PWD:/r" -w /r IMAGE verify …`).

            """
        return text
    }
}
