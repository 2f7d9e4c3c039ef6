import CallAuditDomain

/// A partition ingest stopped at a gap, as stored in `kafka_partition_holds`.
package struct PartitionHold: Sendable, Equatable {
    package var topic: String
    package var partition: Int32
    /// The offset Kafka refused (negative when librdkafka did not say).
    package var refusedOffset: Int64
    /// The position stored in `kafka_offsets` when the hold was made.
    package var storedOffset: Int64?
    /// Kafka's watermarks when the hold was made, when it answered.
    package var lowWatermark: Int64?
    package var highWatermark: Int64?
    /// RFC 3339, UTC.
    package var since: String = ""

    package init(
        topic: String, partition: Int32, refusedOffset: Int64, storedOffset: Int64? = nil, lowWatermark: Int64? = nil,
        highWatermark: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.refusedOffset = refusedOffset
        self.storedOffset = storedOffset
        self.lowWatermark = lowWatermark
        self.highWatermark = highWatermark
    }
}

/// Holds survive the process that made them: whoever is assigned a held
/// partition next (after a restart, a lost lead, a rebalance) keeps it paused,
/// and only `callaudit ingest accept-gap` releases it, in the transaction that
/// records the gap. In memory alone, a hold was forgotten on any of those, and
/// a recreated topic grown past the stored position was then read from that
/// position on: its first messages skipped with no gap event.
package struct PartitionHolds {
    let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Records the hold unless one is already stored (the first sighting is the evidence kept).
    /// The position stored at that moment is recorded with it.
    package func record(_ hold: PartitionHold, consumerGroup: String) throws {
        func optional(_ value: Int64?) -> PostgresValue { value.map { .int($0) } ?? .null }
        try connection.query(
            """
            INSERT INTO kafka_partition_holds (consumer_group, topic, partition, refused_offset, stored_offset, low_watermark, high_watermark)
            SELECT $1, $2, $3, $4,
                   (SELECT next_offset FROM kafka_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3), $5, $6
            ON CONFLICT (consumer_group, topic, partition) DO NOTHING
            """,
            [.text(consumerGroup), .text(hold.topic), .int(hold.partition), .int(hold.refusedOffset),
             optional(hold.lowWatermark), optional(hold.highWatermark)])
    }

    /// Every partition of the group held now.
    package func all(consumerGroup: String) throws -> [PartitionHold] {
        try connection.query(
            """
            SELECT \(Self.columns) FROM kafka_partition_holds WHERE consumer_group = $1 ORDER BY topic, partition
            """, [.text(consumerGroup)]
        ).typedRows.map(Self.hold)
    }

    /// Deletes and returns the partition's hold, if any: only inside the transaction that records the gap accepted.
    package func release(topic: String, partition: Int32, consumerGroup: String) throws -> PartitionHold? {
        try connection.query(
            """
            DELETE FROM kafka_partition_holds WHERE consumer_group = $1 AND topic = $2 AND partition = $3
            RETURNING \(Self.columns)
            """, [.text(consumerGroup), .text(topic), .int(partition)]
        ).typedRows.first.map(Self.hold)
    }

    private static let columns = """
        topic, partition, refused_offset, stored_offset, low_watermark, high_watermark,
        to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        """

    private static func hold(_ row: PostgresTextRow) throws -> PartitionHold {
        let (topic, partition, refused, stored, low, high, since) = try row.decode((String, Int32, Int64, Int64?, Int64?, Int64?, String).self)
        var hold = PartitionHold(
            topic: topic, partition: partition, refusedOffset: refused, storedOffset: stored, lowWatermark: low, highWatermark: high)
        hold.since = since
        return hold
    }
}
