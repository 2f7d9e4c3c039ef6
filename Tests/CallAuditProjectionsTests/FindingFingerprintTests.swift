import Testing

@testable import CallAuditDomain
@testable import CallAuditProjections
import CallAuditStore

/// `findings.fingerprint` is stored, and a rebuild that fingerprinted
/// differently would rewrite every finding: the bytes-written digest must
/// stay the one first written from joined `String`s.
@Suite("Findings' fingerprints")
struct FindingFingerprintTests {
    /// What the first fingerprint digested: the parts as `String`s joined by U+001F.
    static func referenceText(_ finding: Finding) -> [UInt8] {
        Array(
            [
                finding.severity.rawValue, finding.occurredAt.rfc3339, finding.jurisdiction ?? "", finding.citation,
                finding.evidence.joined(separator: " "), finding.detail, finding.policyVersion, finding.policyHash,
            ].joined(separator: "\u{1F}").utf8)
    }

    static func finding(_ change: (inout Finding) -> Void = { _ in }) -> Finding {
        var finding = Finding(
            rule: .consentMissing, severity: .high, occurredAt: Timestamp(microseconds: 1_764_583_200_123_456), callID: "call-1",
            recordingID: "rec-1", partyID: "p-1", requestID: nil, jurisdiction: "DE", citation: "GDPR Art. 6(1)(a)",
            evidence: ["e-1", "e-2"], detail: "recorded without consent", policyVersion: "2026.1", policyHash: "ab12")
        change(&finding)
        return finding
    }

    @Test("the digested text is the joined strings' UTF-8, finding after finding from the same buffers")
    func sameTextAsJoinedStrings() {
        let findings = [
            Self.finding(),
            Self.finding { $0.jurisdiction = nil; $0.evidence = [] },
            Self.finding { $0.evidence = ["ë\u{1F}é", "😀 x", ""]; $0.detail = "tab\there\nnewline \\ back" },
            Self.finding { $0.occurredAt = Timestamp(seconds: 0); $0.severity = .low; $0.citation = "" },
            Self.finding { $0.occurredAt = Timestamp(microseconds: -1); $0.policyHash = String(repeating: "f", count: 64) },
            Self.finding { $0.evidence = (0..<300).map { "00000000-0000-4000-8000-\($0)" } },
        ]
        var fingerprinter = FindingFingerprinter()
        for finding in findings + findings.reversed() {
            #expect(fingerprinter.text(of: finding) == Self.referenceText(finding))
            #expect(String(decoding: fingerprinter.fingerprint(of: finding), as: UTF8.self) == FindingsTable.fingerprint(of: finding))
        }
    }

    @Test("a rebuild's rows write each key and evidence literal as bytes: the same rows as from the key's and literal's Strings")
    func rowsWithKeysAsBytes() {
        var findings = RuleID.allCases.map { rule in Self.finding { $0.rule = rule; $0.evidence = ["first", "mid\"dle\\", "last"] } }
        findings += [
            Self.finding { $0.rule = .accessInvalidPurpose; $0.evidence = [] },
            Self.finding { $0.rule = .recordedAfterRefusal; $0.evidence = [] },
            Self.finding { $0.callID = nil; $0.recordingID = "r|1"; $0.partyID = nil; $0.requestID = "q\té😀"; $0.evidence = ["", "{,}", "NULL"] },
        ]
        var writer = FindingRows()
        for finding in findings + findings.reversed() {
            #expect(writer.key(of: finding) == Array(FindingsTable.key(of: finding).utf8), "\(finding.rule)")
            #expect(writer.arrayLiteral(finding.evidence) == Array(postgresArrayLiteral(finding.evidence).utf8))
        }
        let judged = Dictionary(grouping: findings) { ExactKey("subject-\($0.rule.rawValue.count % 3)") }
        let asStrings = FindingsTable.rows(judged.flatMap { subject, findings in findings.map { ($0, FindingsTable.key(of: $0), subject.text) } })
        #expect(FindingsTable.rows(filling: judged).bytes == asStrings.bytes)
    }

    @Test("a known answer: the first 128 bits of SHA-256, in lowercase hex")
    func knownAnswer() {
        // python3: hashlib.sha256("\x1f".join(["high", "2025-12-01T10:00:00.123456Z", "DE", "GDPR Art. 6(1)(a)",
        //   "e-1 e-2", "recorded without consent", "2026.1", "ab12"]).encode()).hexdigest()[:32]
        #expect(FindingsTable.fingerprint(of: Self.finding()) == "39e86cab5368a6fb6a7a55761f56bd81")
    }
}
