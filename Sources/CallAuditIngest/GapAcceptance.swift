import CallAuditDomain
import CallAuditKafka
import CallAuditStore
import Foundation

/// Why a gap could not be accepted.
package enum GapAcceptanceError: Error, CustomStringConvertible {
    case noStoredPosition(TopicPartition, group: String)
    case noGap(TopicPartition, storedOffset: Int64, watermarks: Watermarks)
    case invalid(String)

    package var description: String {
        switch self {
        case .noStoredPosition(let tp, let group):
            "consumer group \(group) has no stored position in \(tp): there is nothing to accept"
        case .noGap(let tp, let stored, let range):
            "\(tp) has no gap: ingest does not hold it, and its stored position \(stored) lies within what Kafka keeps (\(range.low) to \(range.high))"
        case .invalid(let detail): detail
        }
    }
}

/// An operator's decision that a partition's gap cannot be filled: recorded
/// as a `ingest.gap_accepted` event in the log (with the offsets lost and
/// who decided), the partition's hold released and its stored position moved
/// to its oldest retained message, in one transaction. A running ingest
/// resumes the partition from there within seconds; reports covering the gap list it.
///
/// A partition ingest holds (`kafka_partition_holds`) is accepted even once
/// Kafka's watermarks no longer show its gap (a recreated topic grown past the
/// old position): the gap recorded is the one seen when ingest stopped, and
/// ingest resumes at the oldest message Kafka keeps now, so nothing of the new
/// topic is skipped (what was already stored is found stored, not doubled).
/// Without a hold, only a gap the watermarks show is accepted.
package struct GapAcceptance {
    let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// What was accepted: the gap recorded, where ingest resumes, and the event.
    package struct Accepted {
        package var gap: RetentionGap
        package var resumeOffset: Int64
        package var eventID: String
        /// Whether a stored hold was released (else the watermarks alone showed the gap).
        package var wasHeld: Bool
    }

    /// Records the gap, releases the hold and moves the position. `watermarks` are Kafka's, asked just before.
    package func accept(
        _ partition: TopicPartition, consumerGroup: String, watermarks: Watermarks, reason: String, by actor: (name: String, role: String),
        at time: Timestamp = .now
    ) throws -> Accepted {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw GapAcceptanceError.invalid("accepting a gap needs its reason (--reason)") }
        return try connection.transaction {
            // Locked: two operators accepting at once record one gap, not two.
            let store = EventStore(connection: connection)
            guard let position = try store.lockStoredPosition(consumerGroup: consumerGroup, topic: partition.topic, partition: partition.partition)
            else { throw GapAcceptanceError.noStoredPosition(partition, group: consumerGroup) }
            let stored = position.nextOffset
            let hold = try PartitionHolds(connection: connection).release(
                topic: partition.topic, partition: partition.partition, consumerGroup: consumerGroup)
            guard let gap = RetentionGap(partition: partition, storedOffset: stored, watermarks: watermarks)
                ?? hold.flatMap({ Self.gap(held: $0, partition: partition, stored: stored, now: watermarks) })
            else {
                throw GapAcceptanceError.noGap(partition, storedOffset: stored, watermarks: watermarks)
            }
            let id = OwnEventType.newID()
            var data = Self.document(
                gap, consumerGroup: consumerGroup, id: id, reason: reason, actor: actor, resumeOffset: watermarks.low)
            if case .object(var members) = data {
                members.append(("last_ingested_at", .string(position.updatedAt)))
                if let hold, !hold.since.isEmpty { members.append(("held_since", .string(hold.since))) }
                if gap.watermarks != watermarks {
                    members.append(("watermarks_at_acceptance", ["low": .number(Double(watermarks.low)), "high": .number(Double(watermarks.high))]))
                }
                data = .object(members)
            }
            let event: DecodedEvent
            do { event = try OwnEventType.gapAccepted.event(data: data, at: time, id: id) } catch let rejection as Rejection { throw GapAcceptanceError.invalid(rejection.detail) }
            try store.appendWithinTransaction([IncomingEvent(event: event, origin: nil)])
            try store.resetStoredPosition(consumerGroup: consumerGroup, topic: partition.topic, partition: partition.partition, to: watermarks.low)
            return Accepted(gap: gap, resumeOffset: watermarks.low, eventID: id, wasHeld: hold != nil)
        }
    }

    /// The gap a hold recorded, as best known: the position stored and Kafka's watermarks when ingest
    /// stopped (Kafka's watermarks now stand in for any it did not answer with then), else the offset
    /// Kafka refused. Nil when neither lies outside them: no gap is invented to sign.
    static func gap(held hold: PartitionHold, partition: TopicPartition, stored: Int64, now: Watermarks) -> RetentionGap? {
        let seen = Watermarks(low: hold.lowWatermark ?? now.low, high: hold.highWatermark ?? now.high)
        return RetentionGap(partition: partition, storedOffset: hold.storedOffset ?? stored, watermarks: seen)
            ?? (hold.refusedOffset >= 0 ? RetentionGap(partition: partition, storedOffset: hold.refusedOffset, watermarks: seen) : nil)
    }

    static func document(
        _ gap: RetentionGap, consumerGroup: String, id: String, reason: String, actor: (name: String, role: String), resumeOffset: Int64
    ) -> JSONValue {
        [
            "gap_id": .string(id), "consumer_group": .string(consumerGroup), "topic": .string(gap.partition.topic),
            "partition": .number(Double(gap.partition.partition)), "kind": .string(gap.kind.rawValue),
            "stored_offset": .number(Double(gap.storedOffset)), "low_watermark": .number(Double(gap.watermarks.low)),
            "high_watermark": .number(Double(gap.watermarks.high)), "resume_offset": .number(Double(resumeOffset)),
            "lost": [
                "from_offset": .number(Double(gap.lostOffsets.lowerBound)), "to_offset": .number(Double(gap.lostOffsets.upperBound)),
                "messages": .number(Double(gap.messages)),
            ],
            "reason": .string(reason), "by": ["name": .string(actor.name), "role": .string(actor.role)], "channel": "cli",
        ]
    }
}
