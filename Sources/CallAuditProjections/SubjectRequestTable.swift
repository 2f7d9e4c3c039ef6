import CallAuditDomain
import CallAuditStore

/// The `subject_requests` table: one row per data-subject request, written by
/// `SubjectRequestProjection` and read by the request list and the
/// operations status. It holds no personal data, only each request's state.
///
/// The table lags the log by the projection runner's poll: a request the DPO
/// has just opened is listed once the projection has read its event (the
/// status shows how far behind each projection is).
package struct SubjectRequestTable {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Every request, newest receipt first; `status` filters, `closedOnly` leaves out the open ones.
    /// A page: at most `limit`, those received before `before` (keyset on receipt and id, never an offset).
    package func list(
        status: SubjectRequest.Status? = nil, closedOnly: Bool = false, before: (receivedAt: Timestamp, id: String)? = nil, limit: Int? = nil
    ) throws -> [SubjectRequestSummary] {
        var parameters: [PostgresValue] = [status.map { .text($0.rawValue) } ?? .null]
        var conditions = ["($1::text IS NULL OR status = $1::text)"]
        if closedOnly { conditions.append("status <> 'open'") }
        if let before {
            parameters += [.text(before.receivedAt.rfc3339), .text(before.id)]
            conditions.append("(received_at, request_id) < ($2::timestamptz, $3::text)")
        }
        var limitClause = ""
        if let limit {
            parameters.append(.int(limit))
            limitClause = "LIMIT $\(parameters.count)"
        }
        let rows = try connection.query(
            """
            SELECT request_id, kind, regime, channel, \(Self.microseconds("received_at")), received_event_id,
                   \(Self.microseconds("extended_at")), status, \(Self.microseconds("closed_at"))
            FROM subject_requests WHERE \(conditions.joined(separator: " AND "))
            ORDER BY received_at DESC, request_id DESC \(limitClause)
            """, parameters
        ).decode((String, String, String, String, Int64, String, Int64?, String, Int64?).self)
        return try rows.map { id, kind, regime, channel, receivedAt, eventID, extendedAt, status, closedAt in
            guard let kind = SubjectRequestFacts.Kind(rawValue: kind) else { throw Self.mismatch("kind", SubjectRequestFacts.Kind.self) }
            guard let status = SubjectRequest.Status(rawValue: status) else { throw Self.mismatch("status", SubjectRequest.Status.self) }
            return SubjectRequestSummary(
                id: id, kind: kind, regime: regime, channel: channel, receivedAt: Timestamp(microseconds: receivedAt),
                receivedEventID: eventID, extendedAt: extendedAt.map(Timestamp.init(microseconds:)), status: status,
                closedAt: closedAt.map(Timestamp.init(microseconds:)))
        }
    }

    /// Writes each request's row as its stream now folds; called by the projection only.
    func upsert(_ requests: [SubjectRequestSummary]) throws {
        guard !requests.isEmpty else { return }
        func column(_ value: (SubjectRequestSummary) -> String?) -> PostgresValue { .text(postgresArrayLiteral(requests.map(value))) }
        try connection.query(
            """
            INSERT INTO subject_requests AS t (request_id, kind, regime, channel, received_at, received_event_id, extended_at, status, closed_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[],
                                 $8::text[], $9::timestamptz[])
            ON CONFLICT (request_id) DO UPDATE SET
                kind = excluded.kind, regime = excluded.regime, channel = excluded.channel, received_at = excluded.received_at,
                received_event_id = excluded.received_event_id, extended_at = excluded.extended_at, status = excluded.status,
                closed_at = excluded.closed_at
            """,
            [
                column(\.id), column(\.kind.rawValue), column(\.regime), column(\.channel), column(\.receivedAt.rfc3339),
                column(\.receivedEventID), column { $0.extendedAt?.rfc3339 }, column(\.status.rawValue), column { $0.closedAt?.rfc3339 },
            ])
    }

    /// A timestamptz as microseconds since the epoch, exact (`extract` gives numeric).
    private static func microseconds(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000000)::bigint" }

    private static func mismatch<T>(_ column: String, _ type: T.Type) -> PostgresDecodingError {
        PostgresDecodingError(reason: .typeMismatch, column: column, expected: String(describing: type))
    }
}
