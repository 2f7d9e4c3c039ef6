import CallAuditStore
import Testing

/// Total messages consumed by a group, as recorded in PostgreSQL.
func consumed(_ database: TestDatabase, group: String = "test-group") throws -> Int {
    try database.count("SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets WHERE consumer_group = '\(group)'")
}

/// Stored rows and positions agree partition by partition: every offset below
/// the stored position is an event or a dead letter, exactly once, and none above it.
func expectOffsetsConsistent(_ database: TestDatabase, group: String = "test-group") throws {
    let rows = try database.owner().query(
        """
        WITH stored AS (
            SELECT kafka_topic AS topic, kafka_partition AS partition, kafka_offset AS off FROM events WHERE kafka_topic IS NOT NULL
            UNION ALL
            SELECT kafka_topic, kafka_partition, kafka_offset FROM dead_letters
        )
        SELECT o.topic, o.partition, o.next_offset, count(s.off), count(DISTINCT s.off), coalesce(max(s.off), -1)
        FROM kafka_offsets o LEFT JOIN stored s ON s.topic = o.topic AND s.partition = o.partition
        WHERE o.consumer_group = $1
        GROUP BY 1, 2, 3
        """, [.text(group)])
    #expect(rows.count > 0)
    for row in rows {
        let next = Int(row[2]!)!
        #expect(Int(row[3]!)! == next, "partition \(row[0]!)[\(row[1]!)]: \(row[3]!) rows stored for position \(next)")
        #expect(Int(row[4]!)! == next)
        #expect(Int(row[5]!)! == next - 1)
    }
}
