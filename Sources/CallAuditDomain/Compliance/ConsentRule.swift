/// CONSENT_MISSING (docs/product.md §2, §3): a recorded call where an external
/// party lacks the notice or consent the call's regime requires.
///
/// The call is judged by the strictest regime among all its parties'
/// jurisdictions, applied to every external party, against the first
/// recording start plus the notice grace.
package enum ConsentRule {
    package static func evaluate(_ facts: CallFacts, policy: Policy) -> [Finding] {
        // Without call.started the parties are unknown: nothing can be judged yet.
        guard facts.startedEventID != nil, let start = facts.firstRecordingStart else { return [] }
        guard let governing = facts.governingRule(policy), governing.rule.regime != .oneParty else { return [] }
        let deadline = start.time.adding(seconds: Int64(policy.noticeGraceSeconds))
        return facts.parties.filter(\.isExternal).compactMap { party in
            if isSatisfied(party, regime: governing.rule.regime, start: start.time, deadline: deadline, facts: facts) { return nil }
            let mobile = party.device == "cellular" || party.device == "cordless"
            return Finding(
                rule: .consentMissing, severity: .high, occurredAt: start.time, callID: facts.callID,
                recordingID: start.recordingID, partyID: party.id, requestID: nil,
                jurisdiction: governing.jurisdiction,
                citation: (mobile ? governing.rule.mobileCitation : nil) ?? governing.rule.citation,
                evidence: [facts.startedEventID!, start.eventID],
                detail: "party \(party.id) (\(party.role)) was recorded without the \(requirement(governing.rule.regime)) that \(governing.rule.regime.rawValue) requires",
                policyVersion: policy.version, policyHash: policy.hash)
        }
    }

    private static func isSatisfied(
        _ party: CallFacts.Party, regime: ConsentRegime, start: Timestamp, deadline: Timestamp, facts: CallFacts
    ) -> Bool {
        // Tested in place, not filtered into an array per party first.
        func consented(_ counts: (CallFacts.Fact) -> Bool) -> Bool {
            facts.consents.contains { party.id.isExactly($0.partyID) && $0.time <= deadline && counts($0) }
        }
        switch regime {
        case .oneParty:
            return true
        case .allPartyConsent:
            return consented { $0.method != "implied_by_continuing" }
        case .allPartyNotice, .allPartyNoticeRecorded:
            let notified = facts.notices.contains { notice in
                (notice.partyID == nil || party.id.isExactly(notice.partyID)) && notice.time <= deadline
                    && (regime == .allPartyNotice || notice.time >= start)
            }
            return notified || consented { _ in true }
        }
    }

    private static func requirement(_ regime: ConsentRegime) -> String {
        switch regime {
        case .oneParty: "nothing"
        case .allPartyNotice: "notice or consent"
        case .allPartyNoticeRecorded: "recorded notice or consent"
        case .allPartyConsent: "explicit consent"
        }
    }
}
