import CallAuditDomain

/// The answer to an access request (GDPR Art. 15, CCPA §1798.110): what the
/// store holds about the person, as `export.json` (schema in
/// `schemas/export/`). Other people's data never enters it: the other
/// parties of a call appear by role only, notices and consents only when they
/// were the person's own (or a notice played to everyone), and the staff who
/// used a recording by role only (the identity of employees acting for the
/// organisation is not the person's to receive: CJEU C-579/21).
package struct AccessExport: Sendable {
    package static let formatVersion = 1

    package var request: SubjectRequest
    /// The identifiers the person was found by, as normalised.
    package var identifiers: JSONValue
    package var records: SubjectRecords
    package var policy: Policy
    package var generatedAt: Timestamp

    package init(request: SubjectRequest, identifiers: JSONValue, records: SubjectRecords, policy: Policy, generatedAt: Timestamp) {
        self.request = request
        self.identifiers = identifiers
        self.records = records
        self.policy = policy
        self.generatedAt = generatedAt
    }

    package var document: JSONValue {
        [
            "export_version": .number(Double(Self.formatVersion)),
            "request": requestSection,
            "generated_at": .string(generatedAt.rfc3339),
            "subject": identifiers,
            "calls": .array(calls),
            "recordings": .array(recordings),
            "accesses": .array(uses(kind: "accessed")),
            "transfers": .array(uses(kind: "shared")),
            "purposes": purposes,
            "retention": retention,
            "source": source,
        ]
    }

    private var requestSection: JSONValue {
        object([
            "request_id": .string(request.id), "regime": .string(request.regime), "received_at": .string(request.receivedAt.rfc3339),
            "deadline": request.deadline(policy: policy).map { .string($0.rfc3339) },
        ])
    }

    // MARK: Calls

    /// One entry per call and party the person was, oldest first.
    var calls: [JSONValue] {
        records.participations.sorted { (startedAt($0.callID), $0.callID.exactKey) < (startedAt($1.callID), $1.callID.exactKey) }.map(call)
    }

    private func startedAt(_ callID: String) -> Int64 { records.summaries[ExactKey(callID)]?.startedAt?.microseconds ?? .max }

    private func call(_ participation: SubjectRecords.Participation) -> JSONValue {
        let facts = records.calls[ExactKey(participation.callID)]
        let summary = records.summaries[ExactKey(participation.callID)]
        let me = facts?.parties.first { $0.id.isExactly(participation.partyID) }
        let mine: (CallFacts.Fact) -> Bool = { participation.partyID.isExactly($0.partyID) }
        return object([
            "call_id": .string(participation.callID),
            "started_at": summary?.startedAt.map { .string($0.rfc3339) },
            "direction": summary?.direction.map(JSONValue.string),
            "channel": summary?.channel.map(JSONValue.string),
            "your_role": me.map { .string($0.role) },
            "jurisdiction": me?.jurisdiction.map(JSONValue.string),
            "other_parties": .array((facts?.parties ?? []).filter { $0.id != participation.partyID }.map { ["role": .string($0.role)] }),
            "notices": .array((facts?.notices ?? []).filter { $0.partyID == nil || mine($0) }.map { notice in
                object([
                    "time": .string(notice.time.rfc3339), "method": notice.method.map(JSONValue.string),
                    "to": .string(notice.partyID == nil ? "all_parties" : "you"),
                ])
            }),
            "consents": .array(consents(facts, mine)),
            "recording_ids": .array((facts?.recordingIDs ?? []).map(JSONValue.string)),
        ])
    }

    private func consents(_ facts: CallFacts?, _ mine: (CallFacts.Fact) -> Bool) -> [JSONValue] {
        let given = (facts?.consents ?? []).filter(mine).map { fact in
            (fact.time, object([
                "time": .string(fact.time.rfc3339), "decision": "given", "method": fact.method.map(JSONValue.string),
                "scope": fact.scope.map { .array($0.map(JSONValue.string)) },
            ]))
        }
        let refused = (facts?.refusals ?? []).filter(mine).map { fact in
            (fact.time, object([
                "time": .string(fact.time.rfc3339),
                "decision": .string(fact.kind == EventType.consentWithdrawn.rawValue ? "withdrawn" : "refused"),
            ]))
        }
        return (given + refused).sorted { $0.0 < $1.0 }.map(\.1)
    }

    // MARK: Recordings and their uses

    var recordings: [JSONValue] {
        records.recordings.sorted { $0.key < $1.key }.map { id, recording in
            let deleted = recording.deleted
            return object([
                "recording_id": .string(recording.recordingID),
                "call_id": recording.callID.map(JSONValue.string),
                "stored_at": recording.stored.map { .string($0.time.rfc3339) },
                "exists": .bool(deleted == nil),
                "deleted_at": deleted.map { .string($0.time.rfc3339) },
                "deletion_reason": records.deletionReasons[id].map(JSONValue.string),
                "retention_until": recording.stored.map { .string($0.time.adding(seconds: Int64(policy.retentionDays) * 86_400).rfc3339) },
                "legal_holds": .array(recording.holds.sorted { $0.placedAt < $1.placedAt }.map { hold in
                    object([
                        "hold_id": .string(hold.holdID), "placed_at": .string(hold.placedAt.rfc3339),
                        "released_at": hold.releasedAt.map { .string($0.rfc3339) },
                    ])
                }),
            ])
        }
    }

    /// Accesses (`accessed`) or transfers (`shared`): who by role, for what, when; a transfer's recipient organisation and country.
    func uses(kind: String) -> [JSONValue] {
        records.uses.filter { $0.kind == kind }.map { use in
            var members: [String: JSONValue?] = [
                "recording_id": .string(use.recordingID), "time": .string(use.time.rfc3339), "role": .string(use.role),
                "purpose": use.purpose.map(JSONValue.string),
            ]
            if kind == "accessed" {
                members["action"] = use.action.map(JSONValue.string)
                members["anonymized"] = .bool(use.anonymized)
            } else {
                members["recipient_organization"] = use.organization.map(JSONValue.string)
                members["recipient_country"] = use.country.map(JSONValue.string)
                members["legal_basis"] = use.legalBasis.map(JSONValue.string)
            }
            return object(members)
        }
    }

    // MARK: Purposes, retention, source

    private var purposes: JSONValue {
        [
            "recording": .array(policy.allowedPurposes.sorted().map(JSONValue.string)),
            "this_service": "proving that recordings were made, kept, used and deleted as the law and the organisation's policy require",
        ]
    }

    private var retention: JSONValue {
        [
            "recordings_days": .number(Double(policy.retentionDays)),
            "recordings": .string("recordings are deleted \(policy.retentionDays) days after they are stored, unless a legal hold keeps them"),
            "audit_log": "the audit log keeps what happened, with your identifiers encrypted under a key of your own; erasure destroys that key",
        ]
    }

    private var source: JSONValue {
        let systems = Set(records.summaries.values.compactMap(\.source)).sorted()
        return [
            "systems": .array(systems.map(JSONValue.string)),
            "collected_from": "the organisation's telephony and recording systems, as they reported calls, consents, accesses and deletions",
            "log_position": .number(Double(records.position)),
        ]
    }
}

/// An object without its nil members, keys in order.
func object(_ members: [String: JSONValue?]) -> JSONValue {
    .object(members.compactMap { key, value in value.map { (key: key, value: $0) } }.sorted { $0.key < $1.key })
}
