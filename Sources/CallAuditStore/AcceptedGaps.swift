import CallAuditDomain
import Foundation

/// An `ingest.gap_accepted` event as its readers need it: Kafka offsets that
/// were lost before CallAudit read them, accepted by an operator. Its shape
/// is the event contract's (`OwnEventType`), checked when it was written.
package struct AcceptedGap: Sendable {
    package var position: Int64
    package var eventID: String
    /// When the gap was accepted (the event's time).
    package var acceptedAt: String
    package var gapID: String
    package var consumerGroup: String
    package var topic: String
    package var partition: Int
    /// `below_low_watermark` or `beyond_high_watermark`.
    package var kind: String
    package var lostFromOffset: Int64
    package var lostToOffset: Int64
    package var lostMessages: Int64
    package var storedOffset: Int64
    package var lowWatermark: Int64
    package var highWatermark: Int64
    package var resumeOffset: Int64
    /// When the partition's last stored message was written; nil when it had none.
    package var lastIngestedAt: String?
    package var reason: String
    package var acceptedBy: (name: String, role: String)
}

/// The accepted gaps in the event log. The log is the store's; the SQL over it lives here.
package struct AcceptedGaps {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Every accepted gap whose window (from the partition's last stored
    /// message before it to its acceptance) overlaps [from, to), in log order.
    package func overlapping(from: Timestamp, to: Timestamp) throws -> [AcceptedGap] {
        try connection.query(
            """
            SELECT position, event::text FROM events
            WHERE source = $3 AND type = $4 AND event_time >= $1::timestamptz
              AND coalesce((event->'data'->>'last_ingested_at')::timestamptz, event_time) < $2::timestamptz
            ORDER BY position
            """, [.text(from.rfc3339), .text(to.rfc3339), .text(OwnEventType.source), .text(OwnEventType.gapAccepted.rawValue)]
        ).decode((Int64, String).self).map { position, event in try Self.gap(position: position, event: event) }
    }

    /// A gap's window: the instants between which its lost messages were written to Kafka.
    package struct Window: Sendable, Equatable {
        package var gapID: String
        package var since: Timestamp
        package var acceptedAt: Timestamp
    }

    /// The windows of the gaps accepted by transactions in [from, below): the
    /// report scheduler's cursor is a transaction horizon, not a position.
    package func windows(committedFrom from: UInt64, below: UInt64) throws -> [Window] {
        try connection.query(
            """
            SELECT event->'data'->>'gap_id',
                   (extract(epoch FROM coalesce((event->'data'->>'last_ingested_at')::timestamptz, event_time)) * 1000000)::bigint,
                   (extract(epoch FROM event_time) * 1000000)::bigint
            FROM events WHERE source = $3 AND type = $4
              AND transaction_id >= $1::text::xid8 AND transaction_id < $2::text::xid8 ORDER BY transaction_id, position
            """, [.text(String(from)), .text(String(below)), .text(OwnEventType.source), .text(OwnEventType.gapAccepted.rawValue)]
        ).decode((String, Int64, Int64).self).map {
            Window(gapID: $0, since: Timestamp(microseconds: $1), acceptedAt: Timestamp(microseconds: $2))
        }
    }

    private static func gap(position: Int64, event: String) throws -> AcceptedGap {
        let decoded = try JSONDecoder().decode(Event.self, from: Data(event.utf8))
        let data = decoded.data
        return AcceptedGap(
            position: position, eventID: decoded.id, acceptedAt: decoded.time, gapID: data.gap_id, consumerGroup: data.consumer_group,
            topic: data.topic, partition: data.partition, kind: data.kind, lostFromOffset: data.lost.from_offset,
            lostToOffset: data.lost.to_offset, lostMessages: data.lost.messages, storedOffset: data.stored_offset,
            lowWatermark: data.low_watermark, highWatermark: data.high_watermark, resumeOffset: data.resume_offset,
            lastIngestedAt: data.last_ingested_at, reason: data.reason, acceptedBy: (data.by.name, data.by.role))
    }

    /// The members of the event read here, named as the contract names them.
    private struct Event: Decodable {
        var id: String
        var time: String
        var data: Payload

        struct Payload: Decodable {
            var gap_id: String, consumer_group: String, topic: String, partition: Int, kind: String
            var stored_offset: Int64, low_watermark: Int64, high_watermark: Int64, resume_offset: Int64
            var lost: Lost
            var last_ingested_at: String?
            var reason: String
            var by: Actor
        }

        struct Lost: Decodable { var from_offset: Int64, to_offset: Int64, messages: Int64 }
        struct Actor: Decodable { var name: String, role: String }
    }
}
