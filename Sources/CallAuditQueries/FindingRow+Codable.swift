/// A finding as reports carry it: one member per column, evidence as an
/// array of event ids, absent ids as null (`FindingRow.json`). The
/// fingerprint is not part of a report; a decoded finding has none.
extension FindingRow: Codable {
    private enum CodingKeys: String, CodingKey {
        case occurredAt = "occurred_at", rule, severity, status, callID = "call_id", recordingID = "recording_id", partyID = "party_id"
        case requestID = "request_id", jurisdiction, citation, evidence, detail, policyVersion = "policy_version"
        case policyHash = "policy_hash", findingKey = "finding_key"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Absent ids were written as null, never left out: `decode(String?.self)` insists the member is there.
        self.init(
            occurredAt: try c.decode(String.self, forKey: .occurredAt), rule: try c.decode(String.self, forKey: .rule),
            severity: try c.decode(String.self, forKey: .severity), status: try c.decode(String.self, forKey: .status),
            callID: try c.decode(String?.self, forKey: .callID), recordingID: try c.decode(String?.self, forKey: .recordingID),
            partyID: try c.decode(String?.self, forKey: .partyID), requestID: try c.decode(String?.self, forKey: .requestID),
            jurisdiction: try c.decode(String?.self, forKey: .jurisdiction), citation: try c.decode(String.self, forKey: .citation),
            evidence: try c.decode([String].self, forKey: .evidence), detail: try c.decode(String.self, forKey: .detail),
            policyVersion: try c.decode(String.self, forKey: .policyVersion), policyHash: try c.decode(String.self, forKey: .policyHash),
            findingKey: try c.decode(String.self, forKey: .findingKey))
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(rule, forKey: .rule)
        try c.encode(severity, forKey: .severity)
        try c.encode(status, forKey: .status)
        // `encode`, not `encodeIfPresent`: an absent id is a null member, as `json` and `writeCanonical` write it.
        try c.encode(callID, forKey: .callID)
        try c.encode(recordingID, forKey: .recordingID)
        try c.encode(partyID, forKey: .partyID)
        try c.encode(requestID, forKey: .requestID)
        try c.encode(jurisdiction, forKey: .jurisdiction)
        try c.encode(citation, forKey: .citation)
        try c.encode(evidence, forKey: .evidence)
        try c.encode(detail, forKey: .detail)
        try c.encode(policyVersion, forKey: .policyVersion)
        try c.encode(policyHash, forKey: .policyHash)
        try c.encode(findingKey, forKey: .findingKey)
    }
}
