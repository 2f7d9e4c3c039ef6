import CallAuditDomain
@testable import CallAuditProjections
import Testing

/// The compliance fold in memory: what one call's events leave behind, with no database.
@Suite("Compliance fold of one stream")
struct ComplianceFoldTests {
    private func event(_ id: String, _ type: String, at time: String, _ data: JSONValue) throws -> FactEvent {
        try #require(FactEvent(["specversion": "1.0", "id": .string(id), "source": "urn:test", "type": .string(type), "time": .string(time), "data": data]))
    }

    @Test("a call's start and its recording fold into one call with its parties and one recording, both marked changed")
    func oneCall() throws {
        var fold = ComplianceFold()
        fold.fold(try event("s", "call.started", at: "2026-11-23T10:00:00Z", [
            "call_id": "c", "direction": "inbound", "channel": "phone", "parties": [
                ["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["subject_ref": "ref-agent"]],
                ["party_id": "p", "role": "customer", "jurisdiction": "DE", "subject": ["subject_ref": "ref-customer"]],
            ]]))
        fold.fold(try event("r", "recording.started", at: "2026-11-23T10:00:05Z", ["call_id": "c", "recording_id": "r1"]))
        let call = try #require(fold.calls["c"])
        #expect(call.parties.map(\.id).sorted() == ["a", "p"])
        #expect(fold.recordings["r1"] != nil)
        #expect(fold.changedCalls == ["c"] && fold.changedRecordings == ["r1"])
        #expect(fold.subjectCalls.map { "\($0.key) \($0.partyID)" }.sorted() == ["ref-agent a", "ref-customer p"], "each party's subject is linked to the call")
    }

    @Test("a call event without a call id, or a hold without a hold id, changes nothing")
    func eventsWithoutTheirKeyChangeNothing() throws {
        var fold = ComplianceFold()
        fold.fold(try event("x", "call.ended", at: "2026-11-23T10:00:00Z", ["reason": "hangup"]))
        fold.fold(try event("h", "legal_hold.placed", at: "2026-11-23T10:00:00Z", ["recording_ids": ["r1"]]))
        #expect(fold.calls.isEmpty && fold.changedCalls.isEmpty && fold.recordings.isEmpty && fold.holds.isEmpty)
    }
}
