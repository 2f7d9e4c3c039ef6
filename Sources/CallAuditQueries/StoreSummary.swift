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
            eventsByType: try EventLog(connection: connection).countsByType(),
            deadLetters: try DeadLetterStore(connection: connection).counts(),
            consumerGroups: try EventStore(connection: connection).consumerGroups().map {
                StoreSummary.ConsumerGroup(name: $0.name, partitions: $0.partitions, consumed: $0.consumed)
            })
    }
}
