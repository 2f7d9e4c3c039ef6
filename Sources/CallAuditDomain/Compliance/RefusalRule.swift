/// RECORDED_AFTER_REFUSAL: an external party refused or withdrew consent and a
/// recording of the call was still running (not stopped, not paused) once the
/// notice grace after that had passed.
package enum RefusalRule {
    package static func evaluate(_ facts: CallFacts, policy: Policy) -> [Finding] {
        // Most calls have no refusal: spare them the parties' set and the governing rule.
        guard !facts.refusals.isEmpty else { return [] }
        // Ids by bytes: a party or recording spelt another way is another one (`ExactKey`).
        let external = Set(facts.parties.filter(\.isExternal).map(\.id.exactKey))
        let governing = facts.governingRule(policy)
        var findings: [Finding] = []
        for refusal in facts.refusals {
            guard let partyID = refusal.partyID, external.contains(partyID.exactKey) else { continue }
            let limit = refusal.time.adding(seconds: Int64(policy.noticeGraceSeconds))
            for recordingID in facts.recordingIDs {
                guard let last = lastChange(of: recordingID, atOrBefore: limit, in: facts),
                    last.kind == EventType.recordingStarted.rawValue || last.kind == EventType.recordingResumed.rawValue
                else { continue }
                findings.append(
                    Finding(
                        rule: .recordedAfterRefusal, severity: .high, occurredAt: limit, callID: facts.callID,
                        recordingID: recordingID, partyID: partyID, requestID: nil, jurisdiction: governing?.jurisdiction,
                        citation: governing?.rule.citation ?? policy.fallback.citation, evidence: [refusal.eventID, last.eventID],
                        detail: "recording \(recordingID) kept running more than \(policy.noticeGraceSeconds) s after party \(partyID) refused",
                        policyVersion: policy.version, policyHash: policy.hash))
            }
        }
        return findings
    }

    /// The recording's state-changing event in force at `time` (ties: stop and pause win, they end recording).
    private static func lastChange(of recordingID: String, atOrBefore time: Timestamp, in facts: CallFacts) -> CallFacts.Fact? {
        facts.recordingTimeline
            .filter { recordingID.isExactly($0.recordingID) && $0.time <= time }
            .max { a, b in (a.time, rank(a.kind)) < (b.time, rank(b.kind)) }
    }

    private static func rank(_ kind: String?) -> Int {
        kind == EventType.recordingStopped.rawValue || kind == EventType.recordingPaused.rawValue ? 1 : 0
    }

}

/// The rules judged on a recording's own facts, its call's consents, and the clock.
package enum RecordingRules {
    static let transferCitation = "GDPR Art. 44-46 (transfers to third countries)"
    static let accessCitation = "CallAudit policy: access only by allowed roles for stated purposes"
    static let retentionCitation = "CallAudit policy: retention_days; GDPR Art. 5(1)(e)"
    static let holdCitation = "CallAudit policy: recordings under legal hold are kept; GDPR Art. 17(3)(e)"

    package static func evaluate(_ recording: RecordingFacts, call: CallFacts?, policy: Policy, now: Timestamp) -> [Finding] {
        var findings: [Finding] = []
        func finding(_ rule: RuleID, _ severity: Finding.Severity, at time: Timestamp, citation: String, evidence: [String], _ detail: String) {
            findings.append(
                Finding(
                    rule: rule, severity: severity, occurredAt: time, callID: recording.callID, recordingID: recording.recordingID,
                    partyID: nil, requestID: nil, jurisdiction: nil, citation: citation, evidence: evidence, detail: detail,
                    policyVersion: policy.version, policyHash: policy.hash))
        }
        for use in recording.uses {
            let verb = use.kind == EventType.recordingShared.rawValue ? "shared" : "accessed"
            if !policy.allowedAccessRoles.contains(use.role) {
                finding(.accessUnauthorizedRole, .high, at: use.time, citation: accessCitation, evidence: [use.eventID],
                        "recording \(verb) by a role that is not allowed")
            }
            if let purpose = use.purpose, policy.allowedPurposes.contains(purpose) {} else {
                finding(.accessInvalidPurpose, .medium, at: use.time, citation: accessCitation, evidence: [use.eventID],
                        "recording \(verb) with a purpose that is missing, unknown or other")
            }
            if use.kind == EventType.recordingAccessed.rawValue, use.purpose == "training_coaching", !use.anonymized,
                !everyExternalPartyConsentedToTraining(call)
            {
                finding(.trainingNotAnonymized, .medium, at: use.time, citation: "GDPR Art. 6(1)(a); CallAudit policy: training use",
                        evidence: [use.eventID], "used for training without anonymisation or every external party's training consent")
            }
            if let deleted = recording.deleted, use.time > deleted.time {
                finding(.accessAfterDeletion, .high, at: use.time, citation: "NIST SP 800-88; CallAudit policy: deleted recordings are gone",
                        evidence: [deleted.eventID, use.eventID], "recording \(verb) after it was deleted")
            }
            if use.kind == EventType.recordingShared.rawValue, let problem = transferProblem(use, policy: policy) {
                finding(.transferWithoutBasis, .high, at: use.time, citation: transferCitation, evidence: [use.eventID], problem)
            }
        }
        if let deletion = recording.deleted, let hold = recording.holds.first(where: { $0.covers(deletion.time) }) {
            finding(.deletedUnderHold, .high, at: deletion.time, citation: holdCitation, evidence: [hold.placedEventID, deletion.eventID],
                    "recording deleted while legal hold \(hold.holdID) was in force")
        }
        if let stored = recording.stored, let due = retentionDue(recording, stored: stored, policy: policy),
            (recording.deleted.map { $0.time > due } ?? (now > due))
        {
            finding(.retentionExceeded, .medium, at: due, citation: retentionCitation,
                    evidence: [stored.eventID] + (recording.deleted.map { [$0.eventID] } ?? []),
                    "recording kept past its retention deadline")
        }
        return findings
    }

    /// Stored time + retention; a hold in force at that moment postpones it to
    /// one day after its release, or indefinitely while it lasts.
    package static func retentionDue(_ recording: RecordingFacts, stored: RecordingFacts.Mark, policy: Policy) -> Timestamp? {
        var due = stored.time.adding(seconds: Int64(policy.retentionDays) * 86_400)
        while let hold = recording.holds.first(where: { $0.covers(due) }) {
            guard let released = hold.releasedAt else { return nil }
            due = released.adding(seconds: 86_400)
        }
        return due
    }

    private static func everyExternalPartyConsentedToTraining(_ call: CallFacts?) -> Bool {
        guard let call, !call.parties.isEmpty else { return false }
        return call.parties.filter(\.isExternal).allSatisfy { party in
            call.consents.contains { party.id.isExactly($0.partyID) && ($0.scope ?? []).contains("training") }
        }
    }

    private static func transferProblem(_ use: RecordingFacts.Use, policy: Policy) -> String? {
        switch use.legalBasis {
        case nil: return "shared abroad without a legal basis"
        case "none": return "shared abroad with legal basis none"
        case "adequacy":
            guard let country = use.country, !policy.eeaCountries.contains(country), !policy.adequateCountries.contains(country) else { return nil }
            return "shared to \(country) on an adequacy basis, but \(country) has no EU adequacy decision"
        default: return nil
        }
    }
}
