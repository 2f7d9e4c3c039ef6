import CallAuditDomain
import CallAuditQueries
import CallAuditStore
import Crypto
import Foundation

/// What a report says about a period, read from the projections: the activity
/// projection for what happened, the compliance projection for findings and
/// subject requests. All SQL a report needs lives here.
struct ReportSources {
    let connection: PostgresConnection
    let policy: Policy
    let period: ReportPeriod

    private var bounds: [PostgresValue] { [.text(period.start.rfc3339), .text(period.end.rfc3339)] }

    /// Rules that make a recorded call non-compliant. Their findings occur at
    /// recording start or during the call, so a window two days past the period finds them.
    private static let consentRules = "('CONSENT_MISSING', 'RECORDED_AFTER_REFUSAL')"
    private static let flaggedCalls = """
        SELECT DISTINCT call_id FROM findings
        WHERE status = 'open' AND rule IN \(consentRules) AND call_id IS NOT NULL
          AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz + interval '2 days'
        """

    /// Calls started on one day of the period under one regime: how many, how
    /// many were recorded, how many of those have no consent finding.
    struct CallCount { var day: String; var regime: String; var calls: Int; var recorded: Int; var compliant: Int }

    /// Every day and regime of the period in one pass over its calls.
    func calls() throws -> [CallCount] {
        try connection.query(
            """
            WITH flagged AS (\(Self.flaggedCalls))
            SELECT day::text, regime, calls, recorded, compliant FROM (
                SELECT (c.started_at AT TIME ZONE $3::text)::date AS day, coalesce(c.regime, 'unknown') AS regime, count(*) AS calls,
                       count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL) AS recorded,
                       count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL AND f.call_id IS NULL) AS compliant
                FROM activity_calls c LEFT JOIN flagged f USING (call_id)
                WHERE c.started_at >= $1::timestamptz AND c.started_at < $2::timestamptz
                GROUP BY 1, 2
            ) counted
            """, bounds + [.text(period.timeZone)]
        ).map { CallCount(day: $0[0]!, regime: $0[1]!, calls: Int($0[2]!)!, recorded: Int($0[3]!)!, compliant: Int($0[4]!)!) }
    }

    /// The days of the period in its time zone, as `YYYY-MM-DD`.
    var days: [String] { period.days(zone: zone).map { String($0.reportID.dropFirst("day-".count)) } }

    struct UseCount { var kind: String; var role: String; var purpose: String?; var count: Int }

    /// Accesses and shares in the period by role and purpose.
    func uses() throws -> [UseCount] {
        try connection.query(
            """
            SELECT kind, actor_role, purpose, count(*) FROM activity_accesses
            WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 NULLS FIRST
            """, bounds
        ).map { UseCount(kind: $0[0]!, role: $0[1]!, purpose: $0[2], count: Int($0[3]!)!) }
    }

    struct Reviewer {
        var actorID: String, role: String, accesses: Int, shares: Int, recordings: Int, purposes: [String], flagged: Int
    }

    /// Who used recordings in the period: per actor, how often, which purposes,
    /// and how many of those uses a finding flags.
    func accessReview() throws -> [Reviewer] {
        try connection.query(
            """
            WITH flagged AS (
                SELECT DISTINCT unnest(evidence) AS event_id FROM findings
                WHERE status = 'open' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
                  AND rule IN ('ACCESS_UNAUTHORIZED_ROLE', 'ACCESS_INVALID_PURPOSE', 'TRAINING_NOT_ANONYMIZED', 'ACCESS_AFTER_DELETION',
                               'TRANSFER_WITHOUT_BASIS')
            )
            SELECT a.actor_id, a.actor_role, count(*) FILTER (WHERE a.kind = 'accessed'), count(*) FILTER (WHERE a.kind = 'shared'),
                   count(DISTINCT a.recording_id), array_to_string(array_agg(DISTINCT coalesce(a.purpose, '(none)')), ' '),
                   count(f.event_id)
            FROM activity_accesses a LEFT JOIN flagged f ON f.event_id = a.event_id
            WHERE a.occurred_at >= $1::timestamptz AND a.occurred_at < $2::timestamptz
            GROUP BY 1, 2 ORDER BY 1, 2
            """, bounds
        ).map {
            Reviewer(
                actorID: $0[0]!, role: $0[1]!, accesses: Int($0[2]!)!, shares: Int($0[3]!)!, recordings: Int($0[4]!)!,
                purposes: $0[5]!.split(separator: " ").map(String.init), flagged: Int($0[6]!)!)
        }
    }

    struct Deletions { var total = 0, onTime = 0, late = 0; var byReason: [(reason: String, method: String, count: Int)] = [] }

    /// Deletions in the period, on time or late against the policy's retention.
    func deletions() throws -> Deletions {
        var result = Deletions()
        for row in try connection.query(
            """
            SELECT coalesce(deletion_reason, 'unknown'), coalesce(deletion_method, 'unknown'), count(*),
                   count(*) FILTER (WHERE stored_at IS NULL OR deleted_at <= stored_at + $3::integer * interval '1 day')
            FROM activity_recordings WHERE deleted_at >= $1::timestamptz AND deleted_at < $2::timestamptz
            GROUP BY 1, 2 ORDER BY 1, 2
            """, bounds + [.int(policy.retentionDays)])
        {
            let (count, onTime) = (Int(row[2]!)!, Int(row[3]!)!)
            result.total += count
            result.onTime += onTime
            result.late += count - onTime
            result.byReason.append((row[0]!, row[1]!, count))
        }
        return result
    }

    struct Retention { var due = 0, deletedOnTime = 0, deletedLate = 0, notDeleted = 0, heldAtDue = 0 }

    /// Recordings whose retention, by the policy, ended in the period: deleted in time, late, not yet, or kept under a hold.
    func retention() throws -> Retention {
        let row = try connection.query(
            """
            WITH due AS (
                SELECT r.recording_id, r.deleted_at, r.stored_at + $3::integer * interval '1 day' AS due_at FROM activity_recordings r
                WHERE r.stored_at >= $1::timestamptz - $3::integer * interval '1 day'
                  AND r.stored_at < $2::timestamptz - $3::integer * interval '1 day'
            ), covered AS (
                SELECT unnest(recording_ids) AS recording_id, placed_at, released_at FROM activity_holds
            )
            SELECT count(*), count(*) FILTER (WHERE deleted_at <= due_at), count(*) FILTER (WHERE deleted_at > due_at),
                   count(*) FILTER (WHERE deleted_at IS NULL),
                   (SELECT count(DISTINCT d.recording_id) FROM due d JOIN covered h ON h.recording_id = d.recording_id
                    AND h.placed_at <= d.due_at AND (h.released_at IS NULL OR h.released_at > d.due_at))
            FROM due
            """, bounds + [.int(policy.retentionDays)]
        ).rows[0]
        return Retention(
            due: Int(row[0]!)!, deletedOnTime: Int(row[1]!)!, deletedLate: Int(row[2]!)!, notDeleted: Int(row[3]!)!, heldAtDue: Int(row[4]!)!)
    }

    /// Subject requests received in the period, how many are answered, how many findings say one is overdue.
    func requests() throws -> (received: Int, answered: Int, overdue: Int) {
        let row = try connection.query(
            """
            SELECT count(*), count(*) FILTER (WHERE facts->>'completed_at' IS NOT NULL),
                   (SELECT count(*) FROM findings WHERE status = 'open' AND rule IN ('ERASURE_OVERDUE', 'SUBJECT_REQUEST_OVERDUE')
                      AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz)
            FROM compliance_requests
            WHERE (facts->>'received_at')::timestamptz >= $1::timestamptz AND (facts->>'received_at')::timestamptz < $2::timestamptz
            """, bounds
        ).rows[0]
        return (Int(row[0]!)!, Int(row[1]!)!, Int(row[2]!)!)
    }

    /// Gaps in the evidence: every `ingest.gap_accepted` event whose window
    /// (from the partition's last stored position before the gap to the
    /// operator's acceptance) overlaps the period. Messages lost in it were
    /// written to Kafka in that window, so events of the period may be among them.
    func gaps() throws -> [JSONValue] {
        try connection.query(
            """
            SELECT position, event::text FROM events
            WHERE source = 'urn:callaudit' AND type = 'ingest.gap_accepted'
              AND event_time >= $1::timestamptz
              AND coalesce((event->'data'->>'last_ingested_at')::timestamptz, event_time) < $2::timestamptz
            ORDER BY position
            """, bounds
        ).rows.map { row in
            let event = try JSONParser.parse(Array(row[1]!.utf8))
            let data = event["data"] ?? .null
            return [
                "gap_id": data["gap_id"] ?? .null, "consumer_group": data["consumer_group"] ?? .null,
                "topic": data["topic"] ?? .null, "partition": data["partition"] ?? .null, "kind": data["kind"] ?? .null,
                "lost_from_offset": data["lost"]?["from_offset"] ?? .null, "lost_to_offset": data["lost"]?["to_offset"] ?? .null,
                "lost_messages": data["lost"]?["messages"] ?? .null, "stored_offset": data["stored_offset"] ?? .null,
                "low_watermark": data["low_watermark"] ?? .null, "high_watermark": data["high_watermark"] ?? .null,
                "resume_offset": data["resume_offset"] ?? .null, "since": data["last_ingested_at"] ?? .null,
                "accepted_at": event["time"] ?? .null, "accepted_by": data["by"] ?? .null, "reason": data["reason"] ?? .null,
                "event_id": event["id"] ?? .null, "event_position": .number(Double(Int64(row[0]!)!)),
            ]
        }
    }

    /// Legal holds in force at the end of the period.
    func openHolds() throws -> Int {
        Int(try connection.query(
            "SELECT count(*) FROM activity_holds WHERE placed_at < $1::timestamptz AND (released_at IS NULL OR released_at >= $1::timestamptz)",
            [.text(period.end.rfc3339)]
        ).scalar ?? "0")!
    }

    /// SHA-256 over the period's open findings (key and fingerprint, in key
    /// order) and their number: a closed period whose digest changes gets a new version.
    /// `digest(of:)` computes the same from findings already read.
    func findingsDigest() throws -> (digest: String, count: Int) {
        let row = try connection.query(
            """
            SELECT encode(sha256(convert_to(coalesce(string_agg(finding_key || '|' || fingerprint, E'\\n' ORDER BY finding_key), ''), 'UTF8')), 'hex'),
                   count(*)
            FROM findings WHERE status = 'open' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
            """, bounds
        ).rows[0]
        return (row[0]!, Int(row[1]!)!)
    }

    /// `findingsDigest`, from the findings themselves: keys compared bytewise, as COLLATE "C" does.
    static func digest(of findings: [FindingRow]) -> String {
        let sorted = findings.map { (key: Array($0.findingKey.utf8), fingerprint: $0.fingerprint) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var text: [UInt8] = []
        for (index, finding) in sorted.enumerated() {
            if index > 0 { text.append(0x0A) }
            text.append(contentsOf: finding.key)
            text.append(UInt8(ascii: "|"))
            text.append(contentsOf: finding.fingerprint.utf8)
        }
        return Array(SHA256.hash(data: text)).hexString
    }

    /// How far the compliance projection has read the log.
    func coverage() throws -> (cursor: LogCursor, eventsApplied: Int) {
        guard let row = try connection.query(
            "SELECT last_transaction_id::text, last_position, events_applied FROM projection_checkpoints WHERE projection = 'compliance'"
        ).rows.first else { return (.start, 0) }
        return (LogCursor(transactionID: UInt64(row[0]!)!, position: Int64(row[1]!)!), Int(row[2]!)!)
    }

    private var zone: TimeZone { TimeZone(identifier: period.timeZone) ?? TimeZone(identifier: "UTC")! }
}
