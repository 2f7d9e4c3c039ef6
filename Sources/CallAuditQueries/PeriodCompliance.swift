import CallAuditDomain
import CallAuditStore

/// What the compliance projection (`findings`, `finding_changes`,
/// `compliance_requests`) says about a period, as audit reports need it.
package struct PeriodCompliance {
    package let connection: PostgresConnection
    package let from: Timestamp
    package let to: Timestamp

    package init(connection: PostgresConnection, from: Timestamp, to: Timestamp) {
        self.connection = connection
        self.from = from
        self.to = to
    }

    private var bounds: [PostgresValue] { [.text(from.rfc3339), .text(to.rfc3339)] }

    /// SHA-256 (hex) over the period's open findings, key and fingerprint in
    /// key order (COLLATE "C"), one per line, and their number.
    package func findingsDigest() throws -> (digest: String, count: Int) {
        let row = try connection.query(
            """
            SELECT encode(sha256(convert_to(coalesce(string_agg(finding_key || '|' || fingerprint, E'\\n' ORDER BY finding_key), ''), 'UTF8')), 'hex'),
                   count(*)
            FROM findings WHERE status = 'open' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
            """, bounds
        ).decodeFirst((String, Int).self)
        guard let row else { throw MissingAggregateRow() }
        return (row.0, row.1)
    }

    /// Subject requests received in the period, how many are answered, and how
    /// many open findings of `overdueRules` occurred in it.
    package struct SubjectRequests: Sendable, Equatable {
        package var received: Int
        package var answered: Int
        package var overdue: Int
    }

    package func subjectRequests(overdueRules: [RuleID]) throws -> SubjectRequests {
        let row = try connection.query(
            """
            SELECT count(*), count(*) FILTER (WHERE facts->>'completed_at' IS NOT NULL),
                   (SELECT count(*) FROM findings WHERE status = 'open' AND rule = ANY($3::text[])
                      AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz)
            FROM compliance_requests
            WHERE (facts->>'received_at')::timestamptz >= $1::timestamptz AND (facts->>'received_at')::timestamptz < $2::timestamptz
            """, bounds + [ruleList(overdueRules)]
        ).decodeFirst((Int, Int, Int).self)
        guard let row else { throw MissingAggregateRow() }
        return SubjectRequests(received: row.0, answered: row.1, overdue: row.2)
    }
}

/// The changes of findings recorded after a change id: the span of their
/// occurrence and the last id, for whoever follows `finding_changes`.
package struct FindingChangeSpan: Sendable, Equatable {
    package var earliest: Timestamp
    package var latest: Timestamp
    package var lastID: Int64
}

extension ReadSide {
    /// The findings changed after change `id`; nil when none has.
    package func findingChanges(after id: Int64) throws -> FindingChangeSpan? {
        let row = try connection.query(
            """
            SELECT (extract(epoch FROM min(occurred_at)) * 1000000)::bigint, (extract(epoch FROM max(occurred_at)) * 1000000)::bigint, max(id)
            FROM finding_changes WHERE id > $1
            """, [.int(id)]
        ).decodeFirst((Int64?, Int64?, Int64?).self)
        // Without changes the aggregates are NULL.
        guard let row, let earliest = row.0, let latest = row.1, let last = row.2 else { return nil }
        return FindingChangeSpan(earliest: Timestamp(microseconds: earliest), latest: Timestamp(microseconds: latest), lastID: last)
    }

    /// Where `projection` has read the log to, and how many events it applied; nil before its first batch.
    package func checkpoint(of projection: String) throws -> (cursor: LogCursor, eventsApplied: Int)? {
        try ProjectionCheckpoints(connection: connection).all().first { $0.projection == projection }.map { ($0.cursor, $0.eventsApplied) }
    }
}
