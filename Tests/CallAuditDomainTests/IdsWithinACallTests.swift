import Testing

@testable import CallAuditDomain

/// Inside one call's facts, recordings and parties are matched by their bytes, as the folds and the
/// tables tell them apart: "é" (U+00E9) and "e" + U+0301 are two recordings, or two parties, each
/// judged on its own timeline and its own consents. `String ==` (canonical equivalence) merged them,
/// so a spelling could hide a finding or forge one (found by the tenth review).
@Suite("Ids matched inside a call by their bytes")
struct IdsWithinACallTests {
    static let (nfc, nfd) = ("r-\u{E9}", "r-e\u{301}")

    private func call(_ changes: [(EventType, Int64, String)], refusalAt: Int64 = 20, refusingParty: String = "p") -> CallFacts {
        var f = EventFactory()
        var facts = CallFacts(callID: "c1")
        facts.record(f.make(.callStarted, at: 0, ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [
            ["party_id": "a", "role": "agent", "subject": ["employee_id": "E"]],
            ["party_id": "p", "role": "customer", "jurisdiction": "US-CA", "subject": ["customer_id": "C"]],
        ]]))
        for (type, offset, recording) in changes {
            facts.record(f.make(type, at: offset, ["call_id": "c1", "recording_id": .string(recording), "reason": "customer_request"]))
        }
        facts.record(f.make(.consentRefused, at: refusalAt, ["call_id": "c1", "party_id": .string(refusingParty)]))
        return facts
    }

    @Test("two recordings of one call, byte-distinct but canonically equivalent: the one left running past the refusal is a finding")
    func refusalJudgesEachRecordingByItsOwnTimeline() {
        // r-é (NFC) keeps running after the refusal; r-e+U+0301 (NFD) is started and stopped in time.
        let facts = call([(.recordingStarted, 2, Self.nfc), (.recordingStarted, 2, Self.nfd), (.recordingStopped, 25, Self.nfd)])
        #expect(facts.recordingIDs.count == 2, "two recordings by bytes: \(facts.recordingIDs)")
        let findings = RefusalRule.evaluate(facts, policy: .default)
        let named = findings.map { Array(($0.recordingID ?? "").utf8) }
        #expect(named == [Array(Self.nfc.utf8)], "expected one finding, for the NFC recording still running; got \(findings.map { ($0.recordingID ?? "", $0.evidence) })")
    }

    @Test("a start of the NFC recording does not restart the NFD one, stopped long before")
    func noForgedFinding() {
        // NFD: started, stopped before the refusal (20 s). NFC: started at 29 s, inside the grace, stopped at 31 s (past it).
        let facts = call([(.recordingStarted, 2, Self.nfd), (.recordingStopped, 10, Self.nfd), (.recordingStarted, 29, Self.nfc), (.recordingStopped, 31, Self.nfc)])
        let findings = RefusalRule.evaluate(facts, policy: .default)
        let named = findings.map { Array(($0.recordingID ?? "").utf8) }
        #expect(named == [Array(Self.nfc.utf8)], "only the NFC recording ran past the grace: \(findings.map { ($0.recordingID ?? "", $0.evidence) })")
    }

    @Test("two parties, byte-distinct but canonically equivalent ids: one party's consent does not cure the other's CONSENT_MISSING")
    func consentIsPerParty() {
        var f = EventFactory()
        var facts = CallFacts(callID: "c1")
        facts.record(f.make(.callStarted, at: 0, ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [
            ["party_id": "p-\u{E9}", "role": "customer", "jurisdiction": "US-CA", "subject": ["customer_id": "C1"]],
            ["party_id": "p-e\u{301}", "role": "customer", "jurisdiction": "US-CA", "subject": ["customer_id": "C2"]],
        ]]))
        facts.record(f.make(.recordingStarted, at: 2, ["call_id": "c1", "recording_id": "r1"]))
        // Only the NFC party consents.
        facts.record(f.make(.consentGiven, at: 3, ["call_id": "c1", "party_id": "p-\u{E9}", "method": "verbal", "scope": ["recording"]]))
        let findings = ConsentRule.evaluate(facts, policy: .default)
        #expect(findings.map { Array(($0.partyID ?? "").utf8) } == [Array("p-e\u{301}".utf8)], "the NFD party never consented: \(findings.map { $0.partyID ?? "" })")
    }
}
