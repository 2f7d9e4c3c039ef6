extension RequestDeadline.Span {
    /// `time` moved by this span: calendar months clamp to the month's last day
    /// (31 January + 1 month = 28 or 29 February), days are 24-hour days.
    package func added(to time: Timestamp) -> Timestamp {
        switch self {
        case .days(let days):
            return time.adding(seconds: Int64(days) * 86_400)
        case .months(let months):
            let c = time.civil
            let monthIndex = c.year * 12 + (c.month - 1) + months
            let year = monthIndex / 12
            let month = monthIndex % 12 + 1
            let day = min(c.day, Timestamp.daysIn(month: month, year: year))
            let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
            let seconds = Int64(days) * 86_400 + Int64(c.hour * 3600 + c.minute * 60 + c.second)
            return Timestamp(microseconds: seconds * 1_000_000 + Int64(c.microsecond))
        }
    }
}

/// A data-subject request as the log knows it.
package struct SubjectRequestFacts: Sendable, Equatable {
    package enum Kind: String, Sendable { case access, erasure }

    package var requestID: String
    package var kind: Kind
    package var regime: String
    package var receivedAt: Timestamp
    package var receivedEventID: String
    package var extended = false
    package var completedAt: Timestamp?
    /// The subject's recordings stored by the deadline (or whose storing is not
    /// known), and when each was deleted, if it was. One made after the
    /// deadline was not owed by it.
    package var recordings: [ExactKey: Timestamp?] = [:]
    /// Of those, the ones a legal hold kept at the deadline: held back from erasure (GDPR Art. 17(3)(e)).
    package var held: Set<ExactKey> = []

    package init(requestID: String, kind: Kind, regime: String, receivedAt: Timestamp, receivedEventID: String) {
        self.requestID = requestID
        self.kind = kind
        self.regime = regime
        self.receivedAt = receivedAt
        self.receivedEventID = receivedEventID
    }

    /// GDPR: one calendar month from receipt (Art. 12(3)), extendable once by two; CCPA: 45 days, once more 45.
    package func deadline(policy: Policy) -> Timestamp? {
        guard let rule = policy.subjectRequests[regime] else { return nil }
        guard extended else { return rule.deadline.added(to: receivedAt) }
        // The extension lengthens the period counted from receipt: 31 January + 1 + 2 months is 30 April.
        switch (rule.deadline, rule.extension_) {
        case let (.months(a), .months(b)): return RequestDeadline.Span.months(a + b).added(to: receivedAt)
        case let (.days(a), .days(b)): return RequestDeadline.Span.days(a + b).added(to: receivedAt)
        default: return rule.extension_.added(to: rule.deadline.added(to: receivedAt))
        }
    }
}

extension SubjectRequestFacts {
    /// The recordings not held and not deleted by `due`, in byte order.
    package func pendingRecordings(due: Timestamp) -> [ExactKey] { Self.pending(recordings, held: held, due: due) }

    /// Of `recordings` (with when each was deleted), those not `held` and not deleted by `due`, in byte order.
    package static func pending(_ recordings: [ExactKey: Timestamp?], held: Set<ExactKey>, due: Timestamp) -> [ExactKey] {
        recordings.filter { id, deleted in !held.contains(id) && (deleted.map { $0 > due } ?? true) }.keys.sorted()
    }
}

/// ERASURE_OVERDUE and SUBJECT_REQUEST_OVERDUE, judged against the clock.
package enum SubjectRequestRule {
    /// `pending`, when given, is `request.pendingRecordings(due:)`, worked out
    /// once for the requests that name the same persons and are due together.
    package static func evaluate(_ request: SubjectRequestFacts, pending: [ExactKey]? = nil, policy: Policy, now: Timestamp) -> [Finding] {
        guard let due = request.deadline(policy: policy), let citation = policy.subjectRequests[request.regime]?.citation else { return [] }
        let completedInTime = request.completedAt.map { $0 <= due } ?? false
        let pendingRecordings = pending ?? request.pendingRecordings(due: due)
        let overdue: Bool
        switch request.kind {
        case .access: overdue = !completedInTime && (request.completedAt != nil || now > due)
        case .erasure: overdue = (!completedInTime && request.completedAt != nil) || (now > due && (!completedInTime || !pendingRecordings.isEmpty))
        }
        guard overdue else { return [] }
        let detail =
            request.kind == .access
            ? "access request not answered by its deadline"
            : pendingRecordings.isEmpty
                ? "erasure request not completed by its deadline"
                : "erasure request overdue: \(pendingRecordings.count) recording(s) of the subject not deleted by the deadline"
        return [
            Finding(
                rule: request.kind == .access ? .subjectRequestOverdue : .erasureOverdue, severity: .high, occurredAt: due,
                callID: nil, recordingID: pendingRecordings.first?.text, partyID: nil, requestID: request.requestID, jurisdiction: nil,
                citation: citation, evidence: [request.receivedEventID], detail: detail,
                policyVersion: policy.version, policyHash: policy.hash)
        ]
    }
}

/// A data-subject request and the pseudonyms of the persons it names (`SubjectKeys`), never their identifiers.
package struct RequestRecord: Sendable, Equatable {
    package var subjectKeys: [String]
    package var facts: SubjectRequestFacts
    /// The `source` of the event that opened it: the request is theirs (nil: recorded before sources were kept).
    package var source: String?

    package init(subjectKeys: [String], facts: SubjectRequestFacts, source: String? = nil) {
        self.subjectKeys = subjectKeys
        self.facts = facts
        self.source = source
    }

    /// Whether another opening of this request says what its first one said:
    /// the same source, kind, regime and persons. Times and event ids may differ.
    package func saysTheSame(as other: RequestRecord) -> Bool {
        (source, facts.kind, facts.regime, subjectKeys) == (other.source, other.facts.kind, other.facts.regime, other.subjectKeys)
    }
}

/// An event that named a request opened by another source. The request is
/// the first opener's; the claim changes nothing and is evidence (EVENT_CONFLICT).
package enum RequestClaimRule {
    package static func evaluate(requestID: String, openedBy openingEventID: String, claim: FactEvent, policy: Policy) -> [Finding] {
        [
            Finding(
                rule: .eventConflict, severity: .high, occurredAt: claim.time, callID: nil, recordingID: nil, partyID: nil,
                requestID: requestID, jurisdiction: nil, citation: ConflictRule.citation, evidence: [openingEventID, claim.id],
                detail: "an event from another source named subject request \(requestID), which it did not open; the request stands as opened",
                policyVersion: policy.version, policyHash: policy.hash)
        ]
    }
}
