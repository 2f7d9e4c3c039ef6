import CallAuditDomain
import CallAuditStore

/// What the activity projection (`activity_*`, `projection_daily_volume`)
/// holds about a period, counted as audit reports show it. Open findings of
/// the given rules flag calls and uses; the rules are the caller's, as `RuleID`s.
package struct PeriodActivity {
    package let connection: PostgresConnection
    package let from: Timestamp
    package let to: Timestamp

    package init(connection: PostgresConnection, from: Timestamp, to: Timestamp) {
        self.connection = connection
        self.from = from
        self.to = to
    }

    private var bounds: [PostgresValue] { [.text(from.rfc3339), .text(to.rfc3339)] }

    /// Calls started on one day under one regime: how many, how many were
    /// recorded, how many of those have no flagging finding.
    package struct Calls: Sendable, Equatable {
        /// `YYYY-MM-DD` in the zone asked for.
        package var day: String
        package var regime: String
        package var calls: Int
        package var recorded: Int
        package var compliant: Int
    }

    /// Every day (in `zone`) and regime of the period in one pass over its
    /// calls. A finding of `flaggingRules` occurs at recording start or during
    /// the call, so a window two days past the period finds them.
    package func callsPerDay(zone: String, flaggingRules: [RuleID]) throws -> [Calls] {
        try connection.query(
            """
            WITH flagged AS (
                SELECT DISTINCT call_id FROM findings
                WHERE status = 'open' AND rule = ANY($4::text[]) AND call_id IS NOT NULL
                  AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz + interval '2 days'
            )
            SELECT day::text, regime, calls, recorded, compliant FROM (
                SELECT (c.started_at AT TIME ZONE $3::text)::date AS day, coalesce(c.regime, 'unknown') AS regime, count(*) AS calls,
                       count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL) AS recorded,
                       count(*) FILTER (WHERE c.first_recorded_at IS NOT NULL AND f.call_id IS NULL) AS compliant
                FROM activity_calls c LEFT JOIN flagged f USING (call_id)
                WHERE c.started_at >= $1::timestamptz AND c.started_at < $2::timestamptz
                GROUP BY 1, 2
            ) counted
            """, bounds + [.text(zone), ruleList(flaggingRules)]
        ).decode((String, String, Int, Int, Int).self).map {
            Calls(day: $0.0, regime: $0.1, calls: $0.2, recorded: $0.3, compliant: $0.4)
        }
    }

    /// Accesses or shares by one role for one purpose (nil: none named).
    package struct Uses: Sendable, Equatable {
        package var kind: String
        package var role: String
        package var purpose: String?
        package var count: Int
    }

    /// Accesses and shares in the period by kind, role and purpose.
    package func uses() throws -> [Uses] {
        try connection.query(
            """
            SELECT kind, actor_role, purpose, count(*) FROM activity_accesses
            WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 NULLS FIRST
            """, bounds
        ).decode((String, String, String?, Int).self).map { Uses(kind: $0.0, role: $0.1, purpose: $0.2, count: $0.3) }
    }

    /// One actor's use of recordings in the period.
    package struct ActorUses: Sendable, Equatable {
        package var actorID: String
        package var role: String
        package var accesses: Int
        package var shares: Int
        package var recordings: Int
        /// Distinct purposes, `(none)` for uses that named none.
        package var purposes: [String]
        /// Uses an open finding of the flagging rules cites as evidence.
        package var flagged: Int
    }

    /// Who used recordings in the period: per actor and role, how often, which
    /// purposes, and how many of those uses a finding of `flaggingRules` cites.
    package func actorUses(flaggingRules: [RuleID]) throws -> [ActorUses] {
        try connection.query(
            """
            WITH flagged AS (
                SELECT DISTINCT unnest(evidence) AS event_id FROM findings
                WHERE status = 'open' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz AND rule = ANY($3::text[])
            )
            SELECT a.actor_id, a.actor_role, count(*) FILTER (WHERE a.kind = 'accessed'), count(*) FILTER (WHERE a.kind = 'shared'),
                   count(DISTINCT a.recording_id), array_to_string(array_agg(DISTINCT coalesce(a.purpose, '(none)')), ' '),
                   count(f.event_id)
            FROM activity_accesses a LEFT JOIN flagged f ON f.event_id = a.event_id
            WHERE a.occurred_at >= $1::timestamptz AND a.occurred_at < $2::timestamptz
            GROUP BY 1, 2 ORDER BY 1, 2
            """, bounds + [ruleList(flaggingRules)]
        ).decode((String, String, Int, Int, Int, String, Int).self).map {
            ActorUses(
                actorID: $0.0, role: $0.1, accesses: $0.2, shares: $0.3, recordings: $0.4,
                purposes: $0.5.split(separator: " ").map(String.init), flagged: $0.6)
        }
    }

    /// Recordings deleted in the period for one reason by one method, and how
    /// many of them within `retentionDays` of being stored.
    package struct Deletions: Sendable, Equatable {
        package var reason: String
        package var method: String
        package var count: Int
        package var onTime: Int
    }

    package func deletions(retentionDays: Int) throws -> [Deletions] {
        try connection.query(
            """
            SELECT coalesce(deletion_reason, 'unknown'), coalesce(deletion_method, 'unknown'), count(*),
                   count(*) FILTER (WHERE stored_at IS NULL OR deleted_at <= stored_at + $3::integer * interval '1 day')
            FROM activity_recordings WHERE deleted_at >= $1::timestamptz AND deleted_at < $2::timestamptz
            GROUP BY 1, 2 ORDER BY 1, 2
            """, bounds + [.int(retentionDays)]
        ).decode((String, String, Int, Int).self).map { Deletions(reason: $0.0, method: $0.1, count: $0.2, onTime: $0.3) }
    }

    /// Recordings whose retention ended in the period.
    package struct RetentionDue: Sendable, Equatable {
        package var due: Int
        package var deletedOnTime: Int
        package var deletedLate: Int
        package var notDeleted: Int
        /// Kept under a legal hold in force when their retention ended.
        package var heldAtDue: Int
    }

    /// Recordings whose retention (`retentionDays` after being stored) ended in
    /// the period: deleted in time, late, not yet, or kept under a hold.
    package func retentionDue(retentionDays: Int) throws -> RetentionDue {
        let counts = try connection.query(
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
            """, bounds + [.int(retentionDays)]
        ).decodeFirst((Int, Int, Int, Int, Int).self)
        guard let counts else { throw MissingAggregateRow() }
        return RetentionDue(due: counts.0, deletedOnTime: counts.1, deletedLate: counts.2, notDeleted: counts.3, heldAtDue: counts.4)
    }

    /// Legal holds in force at the end of the period.
    package func openHoldsAtEnd() throws -> Int {
        try connection.query(
            "SELECT count(*) FROM activity_holds WHERE placed_at < $1::timestamptz AND (released_at IS NULL OR released_at >= $1::timestamptz)",
            [.text(to.rfc3339)]
        ).decodeScalar(Int.self)
    }
}

extension ReadSide {
    /// The first day with events in the log (`projection_daily_volume`), `YYYY-MM-DD`; nil while it is empty.
    package func firstDayWithEvents() throws -> String? {
        try connection.query("SELECT min(day)::text FROM projection_daily_volume").decodeScalar(String?.self)
    }
}

/// A `text[]` parameter naming `rules`.
func ruleList(_ rules: [RuleID]) -> PostgresValue { .text(postgresArrayLiteral(rules.map(\.rawValue))) }

/// An aggregate query without GROUP BY that returned no row, which PostgreSQL never does.
package struct MissingAggregateRow: Error, CustomStringConvertible {
    package init() {}
    package var description: String { "an aggregate query returned no row" }
}
