import CallAuditDomain
import CallAuditQueries
@testable import CallAuditReports
import CallAuditSigning
import Foundation
import Testing

@Suite("Report document")
struct ReportDocumentTests {
    @Test("the golden report is RFC 8785 canonical JSON, and decoding and re-encoding it gives exactly its bytes")
    func goldenBytesAreStable() throws {
        let golden = try Golden.report
        #expect(try JSONParser.parse(golden).canonicalBytes == golden, "the golden file itself is canonical")
        let document = try ReportDocument(decoding: golden)
        // A renamed, added or dropped member, or a null written as absent, changes these bytes.
        #expect(try document.canonicalBytes() == golden)
    }

    @Test("the typed document reads every member of the golden report")
    func goldenDecodes() throws {
        let document = try ReportDocument(decoding: try Golden.report)
        #expect(document.type == DocumentKind.report.rawValue)
        #expect(document.reportID == "week-2026-W48" && document.kind == .week && document.version == 2 && document.status == .final)
        #expect(document.period == .init(from: "2026-11-23T00:00:00Z", to: "2026-11-30T00:00:00Z", timeZone: "UTC"))
        #expect(document.eventStore.seal?.seal == 12 && document.eventStore.throughPosition == 4711)
        #expect(document.accessReview.map(\.roleAllowed) == [false])
        #expect(document.retention.deletions.map(\.count) == [4, 1])
        #expect(document.gapsInEvidence?.map(\.gapID) == ["gap-1", "gap-2"])
        #expect(document.gapsInEvidence?.last?.since == nil)
        #expect(document.summary.usesByRoleAndPurpose.first?.purpose == nil)
        #expect(document.summary.findingsByRule == ["ACCESS_UNAUTHORIZED_ROLE": 1, "CONSENT_MISSING": 1, "SUBJECT_REQUEST_OVERDUE": 1])
        #expect(document.daily.count == 7 && document.daily.last?.complianceRate == nil)
        #expect(document.findings.map(\.rule) == ["CONSENT_MISSING", "ACCESS_UNAUTHORIZED_ROLE", "SUBJECT_REQUEST_OVERDUE"])
        #expect(document.findings[1].callID == nil && document.findings[1].evidence == ["evt-3"])
        #expect(document.changes?.previousVersion == 1 && document.changes?.withdrawn.map(\.rule) == ["RETENTION_EXCEEDED"])
    }

    @Test("a report issued before kinds were named and gaps were listed still decodes, and re-encodes to its own bytes")
    func unnamedReportDecodes() throws {
        let old = try Golden.unnamedReport
        let document = try ReportDocument(decoding: old)
        #expect(document.type == nil && document.gapsInEvidence == nil && document.changes == nil && document.eventStore.seal == nil)
        #expect(try document.canonicalBytes() == old)
        // What the signature verifier accepts for such a report is unchanged.
        try DocumentKind.report.check(try JSONParser.parse(old), acceptUnnamed: true)
    }

    @Test("a document built in code round-trips through its canonical bytes, with absent values as null members")
    func roundTrip() throws {
        var document = try ReportDocument(decoding: try Golden.report)
        document.version = 3
        document.summary.complianceByRegime[0].complianceRate = nil
        document.eventStore.seal = nil
        document.findings[0].detail = "ünïcode \u{1F600} \u{0001}"
        let bytes = try document.canonicalBytes()
        #expect(try JSONParser.parse(bytes).canonicalBytes == bytes)
        let again = try ReportDocument(decoding: bytes)
        #expect(try again.canonicalBytes() == bytes)
        #expect(again.findings[0].detail == document.findings[0].detail)
        let parsed = try JSONParser.parse(bytes)
        #expect(parsed["event_store"]?["seal"] == .null)
        #expect(parsed["summary"]?["compliance_by_regime"]?.arrayValue?.first?["compliance_rate"] == .null)
        #expect(parsed["findings"]?.arrayValue?[1]["call_id"] == .null)
    }

    @Test("a report missing a member it always had does not decode")
    func missingMemberFails() throws {
        guard case .object(var members) = try JSONParser.parse(try Golden.report) else { throw TestFailure("a report is an object") }
        members.removeAll { $0.key == "retention" }
        #expect(throws: DecodingError.self) { try ReportDocument(decoding: JSONValue.object(members).canonicalBytes) }
    }

    @Test("a signature over the canonical bytes verifies with the detached-signature verifier")
    func signedBytesVerify() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reports-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ring = try KeyRing.open(folder)
        let body = try ReportDocument(decoding: try Golden.report).canonicalBytes()
        let signature = try ring.current.sign(body, as: .report)
        #expect(try signature.verify(body, withAnyOf: ring.published).keyID == ring.current.keyID)
    }

    @Test("rates are rounded to four places, and a day without recorded calls has none")
    func rates() {
        #expect(ReportGenerator.rate(5, of: 6) == 0.8333)
        #expect(ReportGenerator.rate(0, of: 0) == nil)
        #expect(ReportGenerator.rate(3, of: 3) == 1)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
