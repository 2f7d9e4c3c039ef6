import CallAuditStore

/// What the store holds: events by type, dead letters by reason and status, consumed positions per group.
package struct StoreSummary: Sendable {
    package struct ConsumerGroup: Sendable {
        package var name: String
        package var partitions: Int
        package var consumed: Int
    }

    package var eventsByType: [(type: String, count: Int)]
    package var deadLetters: [(reason: String, status: String, count: Int)]
    package var consumerGroups: [ConsumerGroup]

    package var events: Int { eventsByType.reduce(0) { $0 + $1.count } }
}

extension ReadSide {
    package func storeSummary() throws -> StoreSummary {
        StoreSummary(
            eventsByType: try connection.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
                .map { (type: $0[0]!, count: Int($0[1]!)!) },
            deadLetters: try DeadLetterStore(connection: connection).counts(),
            consumerGroups: try connection.query(
                "SELECT consumer_group, count(*), sum(next_offset) FROM kafka_offsets GROUP BY 1 ORDER BY 1"
            ).map { StoreSummary.ConsumerGroup(name: $0[0]!, partitions: Int($0[1]!)!, consumed: Int($0[2]!)!) })
    }
}
