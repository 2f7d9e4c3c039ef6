import CallAuditDomain
import CallAuditStore
import Crypto

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
        var raised: [(finding: Finding, key: String, subject: String)] = []
        for (subject, findings) in judged {
            for finding in findings {
                let key = Self.key(of: finding)
                wanted.insert(key)
                if let current = existing[key] {
                    let unchanged = current.status == "open" && current.fingerprint == Self.fingerprint(of: finding)
                    if !unchanged { try update(current.id, with: finding, reopen: current.status != "open", logPosition: logPosition) }
                } else {
                    raised.append((finding, key, subject))
                }
            }
        }
        try insert(raised, logPosition: logPosition)
        let withdrawn = existing.filter { $0.value.status == "open" && !wanted.contains($0.key) }.map(\.value.id)
        try withdraw(withdrawn, logPosition: logPosition)
    }

    /// Raises every finding into the emptied table by COPY, each with its 'raised' change: for rebuilds.
    func insertAll(_ judged: [String: [Finding]], logPosition: Int64?) throws {
        var rows = CopyTextEncoder()
        for (subject, findings) in judged {
            for finding in findings {
                rows.text(finding.rule.rawValue)
                rows.text(finding.severity.rawValue)
                rows.timestamp(finding.occurredAt)
                for id in [finding.callID, finding.recordingID, finding.partyID, finding.requestID, finding.jurisdiction] {
                    if let id { rows.text(id) } else { rows.null() }
                }
                rows.text(finding.citation)
                rows.text(postgresArrayLiteral(finding.evidence))
                rows.text(finding.detail)
                rows.text(finding.policyVersion)
                rows.text(finding.policyHash)
                rows.text(Self.fingerprint(of: finding))
                rows.text(Self.key(of: finding))
                rows.text(subject)
                rows.text("open")
                rows.endRow()
            }
        }
        try connection.copyIn(
            """
            COPY findings (rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation,
                           evidence, detail, policy_version, policy_hash, fingerprint, finding_key, subject, status) FROM STDIN
            """, payload: rows.bytes)
        try connection.query(
            "INSERT INTO finding_changes (finding_id, change, log_position) SELECT id, 'raised', $1::bigint FROM findings ORDER BY id",
            [logPosition.map { .int($0) } ?? .null])
    }

    /// New findings and their 'raised' changes, in one statement.
    private func insert(_ raised: [(finding: Finding, key: String, subject: String)], logPosition: Int64?) throws {
        guard !raised.isEmpty else { return }
        func column(_ value: (Finding) -> String?) -> PostgresValue { .text(postgresArrayLiteral(raised.map { value($0.finding) })) }
        try connection.query(
            """
            WITH raised AS (
                INSERT INTO findings (rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation,
                                      evidence, detail, policy_version, policy_hash, fingerprint, finding_key, subject, status)
                SELECT r, s, o::timestamptz, c, rec, p, req, j, cit, e::text[], d, pv, ph, fp, k, sub, 'open'
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
                     AS x(r, s, o, c, rec, p, req, j, cit, e, d, pv, ph, fp, k, sub)
                RETURNING id
            )
            INSERT INTO finding_changes (finding_id, change, log_position) SELECT id, 'raised', $17::bigint FROM raised
            """,
            [
                column { $0.rule.rawValue }, column { $0.severity.rawValue }, column { $0.occurredAt.rfc3339 }, column(\.callID),
                column(\.recordingID), column(\.partyID), column(\.requestID), column(\.jurisdiction), column(\.citation),
                column { postgresArrayLiteral($0.evidence) }, column(\.detail), column(\.policyVersion), column(\.policyHash),
                column { Self.fingerprint(of: $0) }, .text(postgresArrayLiteral(raised.map(\.key))),
                .text(postgresArrayLiteral(raised.map(\.subject))), logPosition.map { .int($0) } ?? .null,
            ])
    }

    private func withdraw(_ ids: [Int64], logPosition: Int64?) throws {
        guard !ids.isEmpty else { return }
        try connection.query(
            """
            WITH withdrawn AS (
                UPDATE findings SET status = 'withdrawn', changed_at = now() WHERE id = ANY($1::bigint[]) RETURNING id
            )
            INSERT INTO finding_changes (finding_id, change, log_position) SELECT id, 'withdrawn', $2::bigint FROM withdrawn
            """, [.text(postgresArrayLiteral(ids.map(String.init))), logPosition.map { .int($0) } ?? .null])
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

    /// A digest of all a re-judgement can change, so unchanged findings are not
    /// rewritten: 128 bits of SHA-256 rather than the text itself, which would
    /// double every finding's size.
    static func fingerprint(of finding: Finding) -> String {
        let text = [
            finding.severity.rawValue, finding.occurredAt.rfc3339, finding.jurisdiction ?? "", finding.citation,
            finding.evidence.joined(separator: " "), finding.detail, finding.policyVersion, finding.policyHash,
        ].joined(separator: "\u{1F}")
        return Array(SHA256.hash(data: Array(text.utf8)).prefix(16)).hexString
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
