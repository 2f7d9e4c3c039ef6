import CallAuditDomain

/// A request as JSON, for the API and `requests show --json`: the summary a
/// list shows (no personal data), and the detail one request shows.
package enum RequestView {
    package static func summary(_ request: SubjectRequestSummary, policy: Policy, now: Timestamp) -> JSONValue {
        let deadline = request.deadline(policy: policy)
        return object([
            "request_id": .string(request.id),
            "type": .string(request.kind.rawValue),
            "regime": .string(request.regime),
            "status": .string(request.status.rawValue),
            "channel": .string(request.channel),
            "received_at": .string(request.receivedAt.rfc3339),
            "deadline": deadline.map { .string($0.rfc3339) },
            "extended": .bool(request.extended),
            "closed_at": request.closedAt.map { .string($0.rfc3339) },
            "overdue": .bool(request.isOverdue(policy: policy, now: now)),
        ])
    }

    /// The summary, plus who opened and verified it, its extension, exports,
    /// the identifiers (nil once the person was erased) and, for an erasure,
    /// what was erased and each recording's deletion.
    package static func detail(
        _ request: SubjectRequest, identifiers: JSONValue?, shared: [String] = [], recordings: [JSONValue]?, policy: Policy, now: Timestamp
    ) -> JSONValue {
        guard case .object(var members) = summary(request.summary, policy: policy, now: now) else { return .null }
        let more: [String: JSONValue?] = [
            "subject": identifiers ?? .null,
            "subject_erased": .bool(identifiers == nil),
            "verified_by": request.verifiedBy.map(JSONValue.string),
            "opened_by": request.openedBy.map(JSONValue.string),
            "extension": request.extension_.map { ["reason": .string($0.reason), "at": .string($0.at.rfc3339)] },
            "closed_by": request.closed?.by.map(JSONValue.string),
            "exports": .array(request.exports.map { ["at": .string($0.at.rfc3339), "manifest_sha256": .string($0.manifestSHA256)] }),
            "erasure": request.erasure.map { erasure in
                object([
                    "persons": .number(Double(erasure["subjects"]?.arrayValue?.count ?? 0)),
                    "erased": erasure["erased"],
                    "held_back": erasure["held_back"],
                ])
            },
            "recordings": recordings.map(JSONValue.array),
            // Kinds of identifier it names that several persons share, so that they name none of them.
            "shared_identifiers": shared.isEmpty ? nil : .array(shared.map(JSONValue.string)),
            // Other openings that named this request: ignored, shown as evidence.
            "claims": request.claims.isEmpty ? nil : .array(request.claims.map { ["event_id": .string($0.eventID), "at": .string($0.at.rfc3339)] }),
        ]
        for (key, value) in more { if let value { members.append((key: key, value: value)) } }
        return .object(members.sorted { $0.key < $1.key })
    }
}
