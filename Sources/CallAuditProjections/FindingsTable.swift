import CallAuditDomain
import CallAuditStore

/// The findings read model: raises what is newly broken, withdraws what later
/// events cured, and records every change in `finding_changes`.
///
/// `findings` is a projection, rebuilt at will; `finding_changes` is an audit
/// record keyed by the finding's stable key, which no rebuild rewrites.
struct FindingsTable {
    let connection: PostgresConnection

    /// What a change records of its finding, besides the change and the log position.
    private static let recordedColumnNames = ["finding_key", "rule", "occurred_at", "call_id", "recording_id", "party_id", "request_id", "fingerprint"]
    private static let recordedColumns = recordedColumnNames.joined(separator: ", ")

    private static func recordedColumns(of alias: String) -> String {
        recordedColumnNames.map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    /// Makes the open findings of each subject exactly `judged[subject]`.
    func reconcile(_ judged: [ExactKey: [Finding]], logPosition: Int64?) throws {
        guard !judged.isEmpty else { return }
        // Keyed by bytes, as `finding_key` is unique in PostgreSQL: a `String` key takes canonically
        // equivalent keys ("é" and "e" + U+0301) for one, and withdrew or rewrote the other's finding.
        var existing: [[UInt8]: (id: Int64, status: String, fingerprint: String)] = [:]
        let stored = try connection.query(
            "SELECT finding_key, id, status, fingerprint FROM findings WHERE subject = ANY($1::text[])",
            [.text(postgresArrayLiteral(judged.keys.map(\.text)))]
        ).decode((String, Int64, String, String).self)
        for (key, id, status, fingerprint) in stored { existing[Array(key.utf8)] = (id, status, fingerprint) }
        var wanted: Set<[UInt8]> = []
        var raised: [(finding: Finding, key: String, subject: String)] = []
        for (subject, findings) in judged {
            for finding in findings {
                let key = Self.key(of: finding)
                let bytes = Array(key.utf8)
                wanted.insert(bytes)
                if let current = existing[bytes] {
                    let unchanged = current.status == "open" && current.fingerprint == Self.fingerprint(of: finding)
                    if !unchanged { try update(current.id, with: finding, reopen: current.status != "open", logPosition: logPosition) }
                } else {
                    raised.append((finding, key, subject.text))
                }
            }
        }
        try insert(raised, logPosition: logPosition)
        let withdrawn = existing.filter { $0.value.status == "open" && !wanted.contains($0.key) }.map(\.value.id)
        try withdraw(withdrawn, logPosition: logPosition)
    }

    /// Fills an emptied table, for rebuilds: the same COPY as new findings in
    /// a batch, but no 'raised' changes. A rebuild writes its changes to a
    /// throwaway copy of the history; `reconcileHistory` records what really
    /// changed against the kept one.
    func insertAll(_ judged: [ExactKey: [Finding]]) throws {
        try fill(with: Self.rows(filling: judged))
    }

    /// `insertAll`'s rows, encoded on any thread.
    static func rows(filling judged: [ExactKey: [Finding]]) -> CopyTextEncoder {
        var rows = CopyTextEncoder(capacity: judged.values.reduce(0) { $0 + $1.count } * 400)
        var writer = FindingRows()
        for (subject, findings) in judged {
            for finding in findings { writer.append(finding, key: nil, subject: subject.text, to: &rows) }
        }
        return rows
    }

    /// Writes rows made by `rows(filling:)`.
    func fill(with rows: CopyTextEncoder) throws {
        guard !rows.bytes.isEmpty else { return }
        try connection.copyIn(Self.copyStatement, payload: rows.bytes)
    }

    /// New findings by COPY, then their 'raised' changes. The new rows are the
    /// ones above the highest id before: only this projection's leader writes
    /// findings, under its advisory lock, and identity values only grow.
    private func insert(_ raised: [(finding: Finding, key: String, subject: String)], logPosition: Int64?) throws {
        guard !raised.isEmpty else { return }
        let before = try connection.query("SELECT coalesce(max(id), 0) FROM findings").decodeScalar(Int64.self)
        try connection.copyIn(Self.copyStatement, payload: Self.rows(raised).bytes)
        try connection.query(
            """
            INSERT INTO finding_changes (change, log_position, \(Self.recordedColumns))
            SELECT 'raised', $1::bigint, \(Self.recordedColumns) FROM findings WHERE id > $2::bigint ORDER BY id
            """, [logPosition.map { .int($0) } ?? .null, .int(before)])
    }

    private static let copyStatement = """
        COPY findings (rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation,
                       evidence, detail, policy_version, policy_hash, fingerprint, finding_key, subject, status) FROM STDIN
        """

    static func rows(_ raised: [(finding: Finding, key: String, subject: String)]) -> CopyTextEncoder {
        var rows = CopyTextEncoder(capacity: raised.count * 400)
        var writer = FindingRows()
        for (finding, key, subject) in raised { writer.append(finding, key: key, subject: subject, to: &rows) }
        return rows
    }

    private func withdraw(_ ids: [Int64], logPosition: Int64?) throws {
        guard !ids.isEmpty else { return }
        try connection.query(
            """
            WITH withdrawn AS (
                UPDATE findings SET status = 'withdrawn', changed_at = now() WHERE id = ANY($1::bigint[])
                RETURNING \(Self.recordedColumns)
            )
            INSERT INTO finding_changes (change, log_position, \(Self.recordedColumns))
            SELECT 'withdrawn', $2::bigint, \(Self.recordedColumns) FROM withdrawn
            """, [.text(postgresArrayLiteral(ids.map(String.init))), logPosition.map { .int($0) } ?? .null])
    }

    /// After a rebuild filled a fresh `findings`: appends to the record the
    /// changes between what it last said of each finding and what the rebuilt
    /// projection holds, so the history stays the history of what was reported.
    /// Names `public.finding_changes` because during a rebuild the unqualified
    /// name reaches a throwaway copy.
    func reconcileHistory() throws {
        let columns = Self.recordedColumns
        try connection.execute(
            """
            WITH latest AS (
                SELECT DISTINCT ON (finding_key) change, \(columns) FROM public.finding_changes ORDER BY finding_key, id DESC
            ), open AS (
                SELECT \(columns) FROM findings WHERE status = 'open'
            )
            INSERT INTO public.finding_changes (change, log_position, \(columns))
            SELECT CASE WHEN l.change IS NULL OR l.change = 'withdrawn' THEN 'raised' ELSE 'changed' END, NULL::bigint,
                   \(Self.recordedColumns(of: "o"))
            FROM open o LEFT JOIN latest l USING (finding_key)
            WHERE l.change IS NULL OR l.change = 'withdrawn' OR l.fingerprint <> o.fingerprint
            UNION ALL
            SELECT 'withdrawn', NULL::bigint, \(Self.recordedColumns(of: "l"))
            FROM latest l LEFT JOIN open o USING (finding_key) WHERE l.change <> 'withdrawn' AND o.finding_key IS NULL
            """)
    }

    /// What makes a finding the same finding as time goes on: the rule, the ids
    /// it concerns and, for rules about one access or refusal, that event.
    static func key(of finding: Finding) -> String {
        // One interpolation, not an array of six joined (a rebuild writes its keys as bytes: `FindingRows`).
        "\(finding.rule.rawValue)|\(finding.callID ?? "")|\(finding.recordingID ?? "")|\(finding.partyID ?? "")|\(finding.requestID ?? "")|\(anchor(of: finding) ?? "")"
    }

    /// The event a finding about one access or refusal is anchored to; nil for the others.
    static func anchor(of finding: Finding) -> String? {
        switch finding.rule {
        case .accessUnauthorizedRole, .accessInvalidPurpose, .trainingNotAnonymized, .accessAfterDeletion, .transferWithoutBasis, .eventConflict:
            finding.evidence.last ?? ""
        case .recordedAfterRefusal:
            finding.evidence.first ?? ""
        default:
            nil
        }
    }

    /// A digest of all a re-judgement can change, so unchanged findings are not
    /// rewritten: 128 bits of SHA-256 rather than the text itself, which would
    /// double every finding's size (`FindingFingerprinter`).
    static func fingerprint(of finding: Finding) -> String {
        var fingerprinter = FindingFingerprinter()
        return String(decoding: fingerprinter.fingerprint(of: finding), as: UTF8.self)
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
        // Raised again after a withdrawal, or still open with other details (new evidence, say).
        try connection.query(
            """
            INSERT INTO finding_changes (change, log_position, \(Self.recordedColumns))
            SELECT $3, $2::bigint, \(Self.recordedColumns) FROM findings WHERE id = $1
            """, [.int(id), logPosition.map { .int($0) } ?? .null, .text(reopen ? "raised" : "changed")])
    }
}
