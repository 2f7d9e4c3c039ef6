import CallAuditDomain
import CallAuditStore

/// The findings read model: raises what is newly broken, withdraws what later
/// events cured, and records every change in `finding_changes`.
struct FindingsTable {
    let connection: PostgresConnection

    /// Makes the open findings of each subject exactly `judged[subject]`.
    func reconcile(_ judged: [String: [Finding]], logPosition: Int64?) throws {
        guard !judged.isEmpty else { return }
        var existing: [String: (id: Int64, status: String, fingerprint: String)] = [:]
        for row in try connection.query(
            "SELECT finding_key, id, status, fingerprint FROM findings WHERE subject = ANY($1::text[])",
            [.text(postgresArrayLiteral(Array(judged.keys)))])
        {
            existing[row[0]!] = (Int64(row[1]!)!, row[2]!, row[3]!)
        }
        var wanted: Set<String> = []
        for (subject, findings) in judged {
            for finding in findings {
                let key = Self.key(of: finding)
                wanted.insert(key)
                if let current = existing[key] {
                    let unchanged = current.status == "open" && current.fingerprint == Self.fingerprint(of: finding)
                    if !unchanged { try update(current.id, with: finding, reopen: current.status != "open", logPosition: logPosition) }
                } else {
                    try insert(finding, key: key, subject: subject, logPosition: logPosition)
                }
            }
        }
        for (key, current) in existing where current.status == "open" && !wanted.contains(key) {
            try connection.query("UPDATE findings SET status = 'withdrawn', changed_at = now() WHERE id = $1", [.int(current.id)])
            try connection.query(
                "INSERT INTO finding_changes (finding_id, change, log_position) VALUES ($1, 'withdrawn', $2)",
                [.int(current.id), logPosition.map { .int($0) } ?? .null])
        }
    }

    /// What makes a finding the same finding as time goes on: the rule, the ids
    /// it concerns and, for rules about one access or refusal, that event.
    static func key(of finding: Finding) -> String {
        let anchor: String
        switch finding.rule {
        case .accessUnauthorizedRole, .accessInvalidPurpose, .trainingNotAnonymized, .accessAfterDeletion, .transferWithoutBasis:
            anchor = finding.evidence.last ?? ""
        case .recordedAfterRefusal:
            anchor = finding.evidence.first ?? ""
        default:
            anchor = ""
        }
        return [finding.rule.rawValue, finding.callID ?? "", finding.recordingID ?? "", finding.partyID ?? "", finding.requestID ?? "", anchor]
            .joined(separator: "|")
    }

    static func fingerprint(of finding: Finding) -> String {
        [finding.severity.rawValue, finding.occurredAt.rfc3339, finding.jurisdiction ?? "", finding.citation,
         finding.evidence.joined(separator: " "), finding.detail, finding.policyVersion, finding.policyHash]
            .joined(separator: "\u{1F}")
    }

    private func values(_ finding: Finding) -> [PostgresValue] {
        [
            .text(finding.rule.rawValue), .text(finding.severity.rawValue), .text(finding.occurredAt.rfc3339),
            finding.callID.map { .text($0) } ?? .null, finding.recordingID.map { .text($0) } ?? .null,
            finding.partyID.map { .text($0) } ?? .null, finding.requestID.map { .text($0) } ?? .null,
            finding.jurisdiction.map { .text($0) } ?? .null, .text(finding.citation),
            .text(postgresArrayLiteral(finding.evidence)), .text(finding.detail), .text(finding.policyVersion), .text(finding.policyHash),
            .text(Self.fingerprint(of: finding)),
        ]
    }

    private func insert(_ finding: Finding, key: String, subject: String, logPosition: Int64?) throws {
        let id = try connection.query(
            """
            INSERT INTO findings (rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation,
                                  evidence, detail, policy_version, policy_hash, fingerprint, finding_key, subject, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, $15, $16, 'open') RETURNING id
            """, values(finding) + [.text(key), .text(subject)]
        ).scalar!
        try connection.query(
            "INSERT INTO finding_changes (finding_id, change, log_position) VALUES ($1, 'raised', $2)",
            [.text(id), logPosition.map { .int($0) } ?? .null])
    }

    private func update(_ id: Int64, with finding: Finding, reopen: Bool, logPosition: Int64?) throws {
        try connection.query(
            """
            UPDATE findings SET rule = $1, severity = $2, occurred_at = $3, call_id = $4, recording_id = $5, party_id = $6,
                request_id = $7, jurisdiction = $8, citation = $9, evidence = $10::text[], detail = $11, policy_version = $12,
                policy_hash = $13, fingerprint = $14, status = 'open',
                changed_at = CASE WHEN status = 'open' THEN changed_at ELSE now() END
            WHERE id = $15
            """, values(finding) + [.int(id)])
        if reopen {
            try connection.query(
                "INSERT INTO finding_changes (finding_id, change, log_position) VALUES ($1, 'raised', $2)",
                [.int(id), logPosition.map { .int($0) } ?? .null])
        }
    }
}
