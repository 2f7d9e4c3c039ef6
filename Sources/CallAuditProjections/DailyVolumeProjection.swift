import CallAuditDomain
import CallAuditStore

/// Events per UTC day and type, for operations' dashboards.
package struct DailyVolumeProjection: Projection {
    package let name = "daily_volume"
    package let tables = ["projection_daily_volume"]

    package init() {}

    package func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        var counts: [String: Int] = [:]
        for event in events {
            let day = event.time.rfc3339.prefix(10)
            counts["\(day)\t\(event.type)", default: 0] += 1
        }
        guard !counts.isEmpty else { return }
        let sorted = counts.sorted { $0.key < $1.key }
        let keys = sorted.map(\.key)
        try connection.query(
            """
            INSERT INTO projection_daily_volume (day, type, events)
            SELECT d::date, t, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(d, t, n)
            ON CONFLICT (day, type) DO UPDATE SET events = projection_daily_volume.events + excluded.events
            """,
            [
                .text(postgresArrayLiteral(keys.map { String($0.split(separator: "\t")[0]) })),
                .text(postgresArrayLiteral(keys.map { String($0.split(separator: "\t")[1]) })),
                .text(postgresArrayLiteral(sorted.map { String($0.value) })),
            ])
    }
}
