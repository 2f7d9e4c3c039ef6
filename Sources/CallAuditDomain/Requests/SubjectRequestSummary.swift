/// A subject request's state without its history or its person: what lists
/// and the operations status show, and what the `subject_requests`
/// projection keeps one row of per request.
package struct SubjectRequestSummary: Sendable, Equatable {
    package var id: String
    package var kind: SubjectRequestFacts.Kind
    package var regime: String
    /// `api` or `cli` when the DPO opened it here, `kafka` when the platform sent it.
    package var channel: String
    package var receivedAt: Timestamp
    package var receivedEventID: String
    /// When the deadline was extended (once at most).
    package var extendedAt: Timestamp?
    package var status: SubjectRequest.Status
    package var closedAt: Timestamp?

    package init(
        id: String, kind: SubjectRequestFacts.Kind, regime: String, channel: String, receivedAt: Timestamp, receivedEventID: String,
        extendedAt: Timestamp?, status: SubjectRequest.Status, closedAt: Timestamp?
    ) {
        self.id = id
        self.kind = kind
        self.regime = regime
        self.channel = channel
        self.receivedAt = receivedAt
        self.receivedEventID = receivedEventID
        self.extendedAt = extendedAt
        self.status = status
        self.closedAt = closedAt
    }

    package var extended: Bool { extendedAt != nil }

    /// The facts the deadline arithmetic of the compliance rules uses.
    package var facts: SubjectRequestFacts {
        var facts = SubjectRequestFacts(requestID: id, kind: kind, regime: regime, receivedAt: receivedAt, receivedEventID: receivedEventID)
        facts.extended = extended
        facts.completedAt = closedAt
        return facts
    }

    package func deadline(policy: Policy) -> Timestamp? { facts.deadline(policy: policy) }

    /// Whether it was closed after its deadline, or is open past it.
    package func isOverdue(policy: Policy, now: Timestamp) -> Bool {
        guard let due = deadline(policy: policy) else { return false }
        return (closedAt ?? now) > due
    }
}
