import Testing

@testable import CallAuditDomain

/// CONSENT_MISSING, one test per regime and edge (docs/product.md §2).
@Suite("CONSENT_MISSING")
struct ConsentRuleTests {
    let policy = Policy.default
    let recordingStart = Timestamp(rfc3339: "2026-11-24T10:00:00Z")!

    func event(_ type: EventType, _ id: String, at offset: Int64, _ data: JSONValue) -> JSONValue {
        ["specversion": "1.0", "id": .string(id), "source": "urn:test", "type": .string(type.rawValue),
         "time": .string(recordingStart.adding(seconds: offset).rfc3339), "data": data]
    }

    func party(_ id: String, _ role: String, _ jurisdiction: String?, device: String = "landline") -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("party_id", .string(id)), ("role", .string(role)), ("device", .string(device)), ("subject", ["customer_id": "C"]),
        ]
        if let jurisdiction { members.append(("jurisdiction", .string(jurisdiction))) }
        return .object(members)
    }

    /// A recorded call between a TX agent and the given customer, plus extra events.
    func findings(customer: JSONValue, agentJurisdiction: String = "US-TX", _ extra: [JSONValue], shuffled: Bool = false) -> [Finding] {
        var events = [
            event(.callStarted, "e-start", at: -5, ["call_id": "c1", "direction": "inbound", "channel": "phone",
                                                    "parties": [party("a1", "agent", agentJurisdiction), customer]]),
            event(.recordingStarted, "e-rec", at: 0, ["call_id": "c1", "recording_id": "r1"]),
        ] + extra
        if shuffled { events.shuffle() }
        var facts = CallFacts(callID: "c1")
        events.forEach { facts.record($0) }
        return ConsentRule.evaluate(facts, policy: policy)
    }

    func notice(at offset: Int64, party: String? = nil) -> JSONValue {
        event(.noticePlayed, "e-notice", at: offset, ["call_id": "c1", "party_id": party.map { .string($0) } ?? .null, "method": "announcement"])
    }

    func consent(at offset: Int64, method: String) -> JSONValue {
        event(.consentGiven, "e-consent", at: offset, ["call_id": "c1", "party_id": "p1", "method": .string(method), "scope": ["recording"]])
    }

    @Test("the first recording start is the earliest (the first of equal ones), as the filtered array's min gives it")
    func firstRecordingStart() {
        var facts = CallFacts(callID: "c")
        #expect(facts.firstRecordingStart == nil)
        let kinds = [EventType.recordingStopped, .recordingStarted, .recordingPaused, .recordingStarted, .recordingStarted, .recordingResumed]
        for (index, kind) in kinds.enumerated() {
            let offsets: [Int64] = [0, 30, -10, 5, 5, 1]
            facts.recordingTimeline.append(
                .init(eventID: "e\(index)", time: recordingStart.adding(seconds: offsets[index]), recordingID: "r\(index % 2)", kind: kind.rawValue))
            #expect(facts.firstRecordingStart == facts.recordingStarts.min { $0.time < $1.time }, "after \(index + 1) facts")
        }
        #expect(facts.firstRecordingStart?.eventID == "e3")
    }

    @Test("California: a notice exactly at the grace limit counts, one second past it does not")
    func graceLimit() {
        #expect(findings(customer: party("p1", "customer", "US-CA"), [notice(at: 10)]).isEmpty)
        let late = findings(customer: party("p1", "customer", "US-CA"), [notice(at: 11)])
        #expect(late.count == 1)
        #expect(late.first?.rule == .consentMissing && late.first?.partyID == "p1" && late.first?.citation == "Cal. Penal Code §632")
        #expect(late.first?.occurredAt == recordingStart && late.first?.evidence == ["e-start", "e-rec"])
        #expect(late.first?.policyHash == policy.hash)
    }

    @Test("California cites §632.7 for a party on a cellular or cordless phone")
    func mobileCitation() {
        #expect(findings(customer: party("p1", "customer", "US-CA", device: "cellular"), []).first?.citation == "Cal. Penal Code §632.7")
        #expect(findings(customer: party("p1", "customer", "US-CA", device: "cordless"), []).first?.citation == "Cal. Penal Code §632.7")
    }

    @Test("Washington: a notice before recording start is not recorded and does not count; one after start does")
    func washingtonRecordedNotice() {
        #expect(findings(customer: party("p1", "customer", "US-WA"), [notice(at: -3)]).first?.citation == "RCW 9.73.030")
        #expect(findings(customer: party("p1", "customer", "US-WA"), [notice(at: 3)]).isEmpty)
        #expect(findings(customer: party("p1", "customer", "US-CA"), [notice(at: -3)]).isEmpty, "California accepts a notice before recording")
    }

    @Test("Germany: implied consent and notice do not count, explicit consent does")
    func germanyExplicitConsent() {
        let de = party("p1", "customer", "DE")
        #expect(findings(customer: de, [consent(at: 2, method: "implied_by_continuing")]).first?.citation == "StGB §201")
        #expect(findings(customer: de, [notice(at: 1)]).count == 1)
        #expect(findings(customer: de, [consent(at: 2, method: "verbal")]).isEmpty)
        #expect(findings(customer: de, [consent(at: 11, method: "dtmf")]).count == 1, "explicit consent after grace is too late")
    }

    @Test("a missing or unknown jurisdiction falls back to all-party notice")
    func unknownJurisdiction() {
        #expect(findings(customer: party("p1", "customer", "XK"), []).first?.citation == policy.fallback.citation)
        #expect(findings(customer: party("p1", "customer", nil), []).count == 1)
        #expect(findings(customer: party("p1", "customer", "XK"), [notice(at: 2)]).isEmpty)
    }

    @Test("a call mixing US-TX and US-CA parties is judged by California's rule; TX alone needs nothing")
    func strictestRegimeWins() {
        let mixed = findings(customer: party("p1", "customer", "US-TX"), agentJurisdiction: "US-CA", [])
        #expect(mixed.count == 1 && mixed.first?.jurisdiction == "US-CA")
        #expect(findings(customer: party("p1", "customer", "US-TX"), []).isEmpty)
    }

    @Test("a notice for another party does not cover this one; a notice for this party does")
    func noticeForWhom() {
        #expect(findings(customer: party("p1", "customer", "GB"), [notice(at: 1, party: "someone-else")]).count == 1)
        #expect(findings(customer: party("p1", "customer", "GB"), [notice(at: 1, party: "p1")]).isEmpty)
    }

    @Test("an unrecorded call, or one whose call.started has not arrived, gives no finding")
    func nothingToJudge() {
        var facts = CallFacts(callID: "c1")
        facts.record(event(.recordingStarted, "e-rec", at: 0, ["call_id": "c1", "recording_id": "r1"]))
        #expect(ConsentRule.evaluate(facts, policy: policy).isEmpty)
    }

    @Test("the same events in any order give the same findings")
    func orderIndependent() {
        let extra = [notice(at: 12), consent(at: 30, method: "verbal")]
        let expected = findings(customer: party("p1", "customer", "US-CA"), extra)
        #expect(expected.count == 1)
        for _ in 0..<20 {
            #expect(findings(customer: party("p1", "customer", "US-CA"), extra, shuffled: true) == expected)
        }
    }
}
