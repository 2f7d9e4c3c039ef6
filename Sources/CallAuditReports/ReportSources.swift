import CallAuditDomain
import CallAuditStore
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

    struct RegimeCompliance { var regime: String; var recorded: Int; var compliant: Int }

    /// Calls started in the period, and how many were recorded.
    func calls() throws -> (calls: Int, recorded: Int) {
        let row = try connection.query(
            """
            SELECT count(*), count(*) FILTER (WHERE first_recorded_at IS NOT NULL) FROM activity_calls
            WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
            """, bounds
        ).rows[0]
        return (Int(row[0]!)!, Int(row[1]!)!)
    }

    /// Recorded calls by the regime they are judged by, and how many have no consent finding.
    func complianceByRegime() throws -> [RegimeCompliance] {
        try connection.query(
            """
            WITH flagged AS (\(Self.flaggedCalls))
            SELECT coalesce(c.regime, 'unknown'), count(*), count(*) FILTER (WHERE f.call_id IS NULL)
            FROM activity_calls c LEFT JOIN flagged f USING (call_id)
            WHERE c.started_at >= $1::timestamptz AND c.started_at < $2::timestamptz AND c.first_recorded_at IS NOT NULL
            GROUP BY 1 ORDER BY 1
            """, bounds
        ).map { RegimeCompliance(regime: $0[0]!, recorded: Int($0[1]!)!, compliant: Int($0[2]!)!) }
    }

    struct Day { var day: String; var calls: Int; var recorded: Int; var compliant: Int }

    /// The same per calendar day of the period's time zone, every day present.
    func daily() throws -> [Day] {
        var byDay: [String: Day] = [:]
        for row in try connection.query(
            """
            WITH flagged AS (\(Self.flaggedCalls))
            SELECT to_char(c.started_at AT TIME ZONE $3::text, 'YYYY-MM-DD'), count(*),
                   count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL),
                   count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL AND f.call_id IS NULL)
            FROM activity_calls c LEFT JOIN flagged f USING (call_id)
            WHERE c.started_at >= $1::timestamptz AND c.started_at < $2::timestamptz
            GROUP BY 1
            """, bounds + [.text(period.timeZone)])
        {
            byDay[row[0]!] = Day(day: row[0]!, calls: Int(row[1]!)!, recorded: Int(row[2]!)!, compliant: Int(row[3]!)!)
        }
        return period.days(zone: zone).map { day in
            let label = String(day.reportID.dropFirst("day-".count))
            return byDay[label] ?? Day(day: label, calls: 0, recorded: 0, compliant: 0)
        }
    }

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
            )
            SELECT count(*), count(*) FILTER (WHERE deleted_at <= due_at), count(*) FILTER (WHERE deleted_at > due_at),
                   count(*) FILTER (WHERE deleted_at IS NULL),
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM activity_holds h WHERE due.recording_id = ANY (h.recording_ids)
                         AND h.placed_at <= due.due_at AND (h.released_at IS NULL OR h.released_at > due.due_at)))
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

    /// Legal holds in force at the end of the period.
    func openHolds() throws -> Int {
        Int(try connection.query(
            "SELECT count(*) FROM activity_holds WHERE placed_at < $1::timestamptz AND (released_at IS NULL OR released_at >= $1::timestamptz)",
            [.text(period.end.rfc3339)]
        ).scalar ?? "0")!
    }

    /// SHA-256 over the period's open findings (key and fingerprint, in key
    /// order) and their number: a closed period whose digest changes gets a new version.
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

    /// How far the compliance projection has read the log.
    func coverage() throws -> (cursor: LogCursor, eventsApplied: Int) {
        guard let row = try connection.query(
            "SELECT last_transaction_id::text, last_position, events_applied FROM projection_checkpoints WHERE projection = 'compliance'"
        ).rows.first else { return (.start, 0) }
        return (LogCursor(transactionID: UInt64(row[0]!)!, position: Int64(row[1]!)!), Int(row[2]!)!)
    }

    private var zone: TimeZone { TimeZone(identifier: period.timeZone) ?? TimeZone(identifier: "UTC")! }
}
