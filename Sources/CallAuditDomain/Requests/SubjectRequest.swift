/// A data-subject request as its stream tells it: opened (by the DPO here, or
/// received by the platform and sent as `subject.erasure_requested`),
/// perhaps extended once, then closed or, for an erasure, erased.
///
/// Folded from the request's events: the stream is the only record. The desk
/// folds one request's stream to show or act on it; the `subject_requests`
/// projection folds the same streams with this same fold to list them, so the
/// list and the request's own page cannot disagree once the projection has
/// caught up.
package struct SubjectRequest: Sendable, Equatable {
    package enum Status: String, Sendable, CaseIterable {
        case open, answered, rejected, withdrawn, erased
    }

    package var id: String
    package var kind: SubjectRequestFacts.Kind
    package var regime: String
    package var receivedAt: Timestamp
    package var receivedEventID: String
    /// `api` or `cli` when the DPO opened it here, `kafka` when the platform sent it.
    package var channel: String
    package var openedBy: String?
    package var verifiedBy: String?
    /// The sealed subject object (`subject_ref` and the identifiers under its person's key).
    package var subject: JSONValue
    /// The persons the identifiers named when it was opened.
    package var subjectRefs: [String]
    package var extension_: (reason: String, at: Timestamp)?
    package var closed: (outcome: Status, at: Timestamp, by: String?)?
    /// What the erasure recorded: the refs erased, recordings held back.
    package var erasure: JSONValue?
    /// Each export handed over: when, and the SHA-256 of its signed manifest.
    package var exports: [(at: Timestamp, manifestSHA256: String)] = []
    /// Who opened it (the `source` of its first opening event): only they speak for it.
    package var source: String = ""
    /// Events from other sources that named this request, which it ignores: evidence of a claim on it.
    package var claims: [(eventID: String, at: Timestamp)] = []

    package var status: Status { closed?.outcome ?? .open }

    /// Whether another opening says what this one's did: the same source, kind, regime and person.
    func saysTheSame(as other: SubjectRequest) -> Bool {
        (source, kind, regime, subject["subject_ref"]) == (other.source, other.kind, other.regime, other.subject["subject_ref"])
    }
    package var isOpen: Bool { closed == nil }

    /// The request's facts for the deadline arithmetic the compliance rules use.
    package var facts: SubjectRequestFacts { summary.facts }

    package func deadline(policy: Policy) -> Timestamp? { summary.deadline(policy: policy) }

    package func isOverdue(policy: Policy, now: Timestamp) -> Bool { summary.isOverdue(policy: policy, now: now) }

    /// What a list shows of it: no personal data, nothing but its state.
    package var summary: SubjectRequestSummary {
        SubjectRequestSummary(
            id: id, kind: kind, regime: regime, channel: channel, receivedAt: receivedAt, receivedEventID: receivedEventID,
            extendedAt: extension_?.at, status: status, closedAt: closed?.at)
    }

    package static func == (a: SubjectRequest, b: SubjectRequest) -> Bool {
        a.id == b.id && a.receivedEventID == b.receivedEventID && a.extension_?.at == b.extension_?.at && a.closed?.at == b.closed?.at
    }
}

extension SubjectRequest {
    /// Folds a request stream's documents, in log order; nil when it was never opened.
    ///
    /// The first opening stored is the request. A later opening that says the
    /// same (same source, kind, regime and person: a republish, even with an
    /// earlier time) changes nothing; any other is a claim on a request that
    /// is not theirs (a `source` is only what the producer wrote), listed in
    /// `claims` and otherwise ignored. What follows an opening (extended,
    /// closed, exported, erased) is CallAudit's own, and only counts from it.
    package static func fold(_ documents: [JSONValue]) -> SubjectRequest? {
        var request: SubjectRequest?
        for document in documents {
            guard let type = document["type"]?.stringValue, let time = document["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                let data = document["data"], let eventID = document["id"]?.stringValue, let source = document["source"]?.stringValue
            else { continue }
            let opened = opening(type: type, data: data, time: time, eventID: eventID, source: source)
            guard var existing = request else {
                request = opened
                continue
            }
            if let opened {
                if !existing.saysTheSame(as: opened) { existing.claims.append((eventID, time)) }
            } else if source == OwnEventType.source {
                existing.apply(OwnEventType(rawValue: type), data: data, time: time)
            }
            request = existing
        }
        return request
    }

    private static func opening(type: String, data: JSONValue, time: Timestamp, eventID: String, source: String) -> SubjectRequest? {
        guard let id = data["request_id"]?.stringValue, let subject = data["subject"] else { return nil }
        let kind: SubjectRequestFacts.Kind
        let channel: String
        switch type {
        case OwnEventType.requestOpened.rawValue:
            kind = data["kind"]?.stringValue == "erasure" ? .erasure : .access
            channel = data["channel"]?.stringValue ?? "cli"
        case EventType.subjectErasureRequested.rawValue:
            (kind, channel) = (.erasure, "kafka")
        default:
            return nil
        }
        // Only CallAudit's own opening names persons beyond the subject's.
        let refs = channel == "kafka" ? [] : (data["subject_refs"]?.arrayValue ?? []).compactMap(\.stringValue)
        var request = SubjectRequest(
            id: id, kind: kind, regime: data["regime"]?.stringValue ?? "gdpr", receivedAt: time, receivedEventID: eventID,
            channel: channel, openedBy: data["opened_by"]?["name"]?.stringValue, verifiedBy: data["verified_by"]?.stringValue,
            subject: subject, subjectRefs: Array(Set(refs + (subject["subject_ref"]?.stringValue.map { [$0] } ?? []))).sorted())
        request.source = source
        return request
    }

    private mutating func apply(_ type: OwnEventType?, data: JSONValue, time: Timestamp) {
        switch type {
        case .requestExtended:
            if extension_ == nil { extension_ = (data["reason"]?.stringValue ?? "", time) }
        case .requestClosed:
            if closed == nil {
                closed = (Status(rawValue: data["outcome"]?.stringValue ?? "") ?? .answered, time, data["by"]?["name"]?.stringValue)
            }
        case .requestExported:
            exports.append((time, data["manifest_sha256"]?.stringValue ?? ""))
        case .subjectErased:
            erasure = data
            if closed == nil { closed = (.erased, time, data["by"]?["name"]?.stringValue) }
        default:
            break
        }
    }
}
