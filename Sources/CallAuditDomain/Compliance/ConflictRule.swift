/// EVENT_CONFLICT: a message reused a stored event's `(source, id)` with other
/// content. The stored event stands; the attempt is integrity evidence, judged
/// from the `integrity.event_conflict` record CallAudit writes with it.
package enum ConflictRule {
    package static let citation = "CloudEvents 1.0 (source and id identify one event); CallAudit policy: the log is never rewritten"

    package static func evaluate(_ record: FactEvent, policy: Policy) -> [Finding] {
        guard let eventID = record.data["event_id"]?.stringValue, let position = record.data["original_position"]?.numberValue,
            let conflicting = record.data["conflicting_sha256"]?.stringValue
        else { return [] }
        let origin = record.data["kafka"].flatMap { kafka -> String? in
            guard let topic = kafka["topic"]?.stringValue, let partition = kafka["partition"]?.numberValue,
                let offset = kafka["offset"]?.numberValue
            else { return nil }
            return " from \(topic)[\(Int(partition))]@\(Int(offset))"
        } ?? ""
        return [
            Finding(
                rule: .eventConflict, severity: .high, occurredAt: record.time, callID: nil, recordingID: nil, partyID: nil, requestID: nil,
                jurisdiction: nil, citation: citation, evidence: [eventID, record.id],
                detail: "a message\(origin) reused the id of the event stored at position \(Int(position)) with other content (SHA-256 \(conflicting.prefix(16))…); the stored event stands",
                policyVersion: policy.version, policyHash: policy.hash)
        ]
    }
}
