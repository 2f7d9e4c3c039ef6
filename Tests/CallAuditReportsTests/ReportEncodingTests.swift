import CallAuditDomain
@testable import CallAuditQueries
import Testing

@Suite("Report encoding")
struct ReportEncodingTests {
    @Test("a finding written straight to canonical bytes is exactly its JSON value's canonical form")
    func findingBytes() throws {
        let rows = [
            FindingRow(
                occurredAt: "2026-11-23T10:00:05Z", rule: "CONSENT_MISSING", severity: "high", status: "open", callID: "c\"1", recordingID: "r1",
                partyID: "p\\2", requestID: nil, jurisdiction: "DE", citation: "StGB §201", evidence: ["e1", "é2"], detail: "line\nbreak",
                policyVersion: "v", policyHash: "h", findingKey: "CONSENT_MISSING|c\"1||p\\2||"),
            FindingRow(
                occurredAt: "2026-11-23T10:00:05Z", rule: "ERASURE_OVERDUE", severity: "high", status: "open", callID: nil, recordingID: nil,
                partyID: nil, requestID: "q", jurisdiction: nil, citation: "GDPR Art. 12(3)", evidence: [], detail: "d", policyVersion: "v",
                policyHash: "h", findingKey: "k"),
        ]
        for row in rows {
            var bytes: [UInt8] = []
            row.writeCanonical(into: &bytes)
            #expect(bytes == row.json.canonicalBytes)
        }
    }

    @Test("an object assembled from encoded and plain members is canonical")
    func assembledObject() throws {
        let bytes = CanonicalObject.bytes([
            ("zeta", .value([1, "two"])), ("alpha", .encoded(Array(#"[{"a":1,"b":2}]"#.utf8))), ("\u{20ac}", .value(["y": 2, "x": 1])),
        ])
        #expect(bytes == (try JSONParser.parse(bytes)).canonicalBytes)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"alpha":"#))
    }
}
