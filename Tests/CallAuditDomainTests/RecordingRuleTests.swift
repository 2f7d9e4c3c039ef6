import Testing

@testable import CallAuditDomain

/// Builds events at offsets (seconds) from a fixed instant.
struct EventFactory {
    static let origin = Timestamp(rfc3339: "2026-01-31T10:00:00Z")!
    var counter = 0

    mutating func make(_ type: EventType, at offset: Int64, _ data: JSONValue) -> JSONValue {
        counter += 1
        return ["specversion": "1.0", "id": .string("e\(counter)"), "source": "urn:test", "type": .string(type.rawValue),
                "time": .string(Self.origin.adding(seconds: offset).rfc3339), "data": data]
    }
}

private let day: Int64 = 86_400

@Suite("RECORDED_AFTER_REFUSAL")
struct RefusalRuleTests {
    func findings(_ changes: [(EventType, Int64)], refusalAt: Int64 = 20, kind: EventType = .consentRefused) -> [Finding] {
        var f = EventFactory()
        var facts = CallFacts(callID: "c1")
        facts.record(f.make(.callStarted, at: 0, ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [
            ["party_id": "a", "role": "agent", "subject": ["employee_id": "E"]],
            ["party_id": "p", "role": "customer", "jurisdiction": "US-CA", "subject": ["customer_id": "C"]],
        ]]))
        for (type, offset) in changes {
            facts.record(f.make(type, at: offset, ["call_id": "c1", "recording_id": "r1", "reason": "customer_request"]))
        }
        facts.record(f.make(kind, at: refusalAt, ["call_id": "c1", "party_id": "p"]))
        return RefusalRule.evaluate(facts, policy: .default)
    }

    @Test("stopped or paused within grace of the refusal: no finding; exactly at the limit counts as stopped")
    func stoppedInTime() {
        #expect(findings([(.recordingStarted, 2), (.recordingStopped, 25)]).isEmpty)
        #expect(findings([(.recordingStarted, 2), (.recordingStopped, 30)]).isEmpty)
        #expect(findings([(.recordingStarted, 2), (.recordingPaused, 22), (.recordingResumed, 60)]).isEmpty)
    }

    @Test("still running one second past the grace after a refusal or a withdrawal: a finding")
    func keptRunning() {
        let late = findings([(.recordingStarted, 2), (.recordingStopped, 31)])
        #expect(late.count == 1 && late.first?.rule == .recordedAfterRefusal && late.first?.partyID == "p")
        #expect(late.first?.occurredAt == EventFactory.origin.adding(seconds: 30))
        #expect(findings([(.recordingStarted, 2)], kind: .consentWithdrawn).count == 1)
        #expect(findings([(.recordingStarted, 2), (.recordingPaused, 10), (.recordingResumed, 25)]).count == 1, "resumed within grace")
    }
}

@Suite("Access, transfer, retention and hold rules")
struct RecordingRuleTests {
    let policy = Policy.default
    let now = EventFactory.origin.adding(seconds: 365 * day)

    func evaluate(_ events: [JSONValue], call: CallFacts? = nil, holds: [(String, Int64, Int64?)] = [], now: Timestamp? = nil) -> [Finding] {
        var facts = RecordingFacts(recordingID: "r1")
        events.forEach { facts.record($0) }
        for (hold, placed, released) in holds {
            facts.placeHold(hold, at: EventFactory.origin.adding(seconds: placed), eventID: "place-\(hold)")
            if let released { facts.releaseHold(hold, at: EventFactory.origin.adding(seconds: released), eventID: "release-\(hold)") }
        }
        return RecordingRules.evaluate(facts, call: call, policy: policy, now: now ?? self.now)
    }

    func access(_ f: inout EventFactory, at offset: Int64, role: String = "manager", purpose: String? = "quality_sample", anonymized: Bool? = nil) -> JSONValue {
        var data: [(key: String, value: JSONValue)] = [("recording_id", "r1"), ("actor", ["id": "u", "role": .string(role)]), ("action", "play")]
        if let purpose { data.append(("purpose", .string(purpose))) }
        if let anonymized { data.append(("anonymized", .bool(anonymized))) }
        return f.make(.recordingAccessed, at: offset, .object(data))
    }

    func deletion(_ f: inout EventFactory, at offset: Int64) -> JSONValue {
        f.make(.recordingDeleted, at: offset, ["recording_id": "r1", "reason": "manual", "method": "purge", "actor": ["id": "s", "role": "system"]])
    }

    func stored(_ f: inout EventFactory, at offset: Int64 = 0) -> JSONValue {
        f.make(.recordingStored, at: offset, ["call_id": "c1", "recording_id": "r1", "storage_uri": "s3://x", "sha256": .string(String(repeating: "a", count: 64)), "duration_seconds": 1, "bytes": 1])
    }

    func rules(_ findings: [Finding]) -> [RuleID] { findings.map(\.rule).sorted { $0.rawValue < $1.rawValue } }

    @Test("an allowed role with an allowed purpose is clean; any other role is unauthorized")
    func roles() {
        var f = EventFactory()
        #expect(evaluate([access(&f, at: 10)]).isEmpty)
        #expect(rules(evaluate([access(&f, at: 10, role: "agent")])) == [.accessUnauthorizedRole])
    }

    @Test("purpose missing, unknown or other is invalid", arguments: [nil, "curiosity", "other"])
    func purposes(_ purpose: String?) {
        var f = EventFactory()
        #expect(rules(evaluate([access(&f, at: 10, purpose: purpose)])) == [.accessInvalidPurpose])
    }

    @Test("training use needs anonymisation or every external party's training consent")
    func training() {
        var f = EventFactory()
        var call = CallFacts(callID: "c1")
        call.record(f.make(.callStarted, at: 0, ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [
            ["party_id": "a", "role": "agent", "subject": ["employee_id": "E"]],
            ["party_id": "p", "role": "customer", "subject": ["customer_id": "C"]],
        ]]))
        #expect(rules(evaluate([access(&f, at: 10, purpose: "training_coaching", anonymized: false)], call: call)) == [.trainingNotAnonymized])
        #expect(evaluate([access(&f, at: 10, purpose: "training_coaching", anonymized: true)], call: call).isEmpty)
        call.record(f.make(.consentGiven, at: 1, ["call_id": "c1", "party_id": "p", "method": "verbal", "scope": ["recording", "training"]]))
        #expect(evaluate([access(&f, at: 10, purpose: "training_coaching")], call: call).isEmpty)
    }

    @Test("an access after the deletion is flagged, one before it is not")
    func accessAfterDeletion() {
        var f = EventFactory()
        #expect(evaluate([access(&f, at: 10), deletion(&f, at: 20)]).isEmpty)
        let late = evaluate([deletion(&f, at: 20), access(&f, at: 21)])
        #expect(rules(late) == [.accessAfterDeletion] && late.first?.evidence.count == 2)
    }

    @Test(
        "transfers need a basis, and adequacy only counts for the EEA and adequate countries",
        arguments: [("JP", "adequacy", false), ("DE", "adequacy", false), ("IN", "adequacy", true), ("BR", "none", true), ("US", nil, true), ("IN", "scc", false)])
    func transfers(_ country: String, _ basis: String?, _ flagged: Bool) {
        var f = EventFactory()
        var data: [(key: String, value: JSONValue)] = [
            ("recording_id", "r1"), ("actor", ["id": "u", "role": "legal"]), ("purpose", "legal_compliance"),
            ("recipient", ["organization": "o", "country": .string(country)]),
        ]
        if let basis { data.append(("legal_basis", .string(basis))) }
        #expect(rules(evaluate([f.make(.recordingShared, at: 10, .object(data))])) == (flagged ? [.transferWithoutBasis] : []))
    }

    @Test("retention: deleted by stored + 30 days is on time, a second later is not, never deleted is flagged once due")
    func retention() {
        var f = EventFactory()
        #expect(evaluate([stored(&f), deletion(&f, at: 30 * day)]).isEmpty)
        let late = evaluate([stored(&f), deletion(&f, at: 30 * day + 1)])
        #expect(rules(late) == [.retentionExceeded] && late.first?.occurredAt == EventFactory.origin.adding(seconds: 30 * day))
        #expect(evaluate([stored(&f)], now: EventFactory.origin.adding(seconds: 30 * day)).isEmpty, "not yet due")
        #expect(rules(evaluate([stored(&f)], now: EventFactory.origin.adding(seconds: 30 * day + 1))) == [.retentionExceeded])
    }

    @Test("a hold placed before the retention deadline postpones it to one day after release; one placed after does not")
    func retentionWithHolds() {
        var f = EventFactory()
        let placedBefore = [("h1", 10 * day, Optional(40 * day))]
        #expect(evaluate([stored(&f), deletion(&f, at: 41 * day)], holds: placedBefore).isEmpty)
        #expect(rules(evaluate([stored(&f), deletion(&f, at: 41 * day + 1)], holds: placedBefore)) == [.retentionExceeded])
        #expect(evaluate([stored(&f)], holds: [("h1", 10 * day, nil)]).isEmpty, "an unreleased hold keeps it indefinitely")
        let placedAfter = evaluate([stored(&f), deletion(&f, at: 41 * day)], holds: [("h1", 31 * day, 40 * day)])
        #expect(rules(placedAfter) == [.retentionExceeded], "the deadline had already passed")
    }

    @Test("a deletion while a hold is in force is flagged; after its release it is not")
    func deletedUnderHold() {
        var f = EventFactory()
        #expect(rules(evaluate([stored(&f), deletion(&f, at: 5 * day)], holds: [("h1", 1 * day, 10 * day)])) == [.deletedUnderHold])
        #expect(evaluate([stored(&f), deletion(&f, at: 10 * day)], holds: [("h1", 1 * day, 10 * day)]).isEmpty)
    }
}
