import CallAuditStore

/// Where one projection stands.
package struct ProjectionStatus: Sendable {
    package var name: String
    package var cursor: LogCursor
    package var eventsApplied: Int
    /// Committed events after the checkpoint, settled or not.
    package var behind: Int
    /// Of those, how many wait behind the horizon (an older transaction still open).
    package var waitingBehindHorizon: Int
    package var updatedAt: String?
    package var rebuildRequested: Bool
    package var quarantined: [ProjectionQuarantine.Entry]
}

/// Every projection, and what holds back their horizon if anything does.
package struct ProjectionsStatus: Sendable {
    package var projections: [ProjectionStatus]
    package var horizonHolder: HorizonHolder?
}

extension ReadSide {
    /// The status of each named projection (those the service keeps), in order.
    package func projectionStatus(_ names: [String]) throws -> ProjectionsStatus {
        let checkpoints = Dictionary(uniqueKeysWithValues: try ProjectionCheckpoints(connection: connection).all().map { ($0.projection, $0) })
        let log = EventLog(connection: connection)
        let horizon = try log.horizon()
        let projections = try names.map { name in
            let checkpoint = checkpoints[name]
            let cursor = checkpoint?.cursor ?? .start
            return ProjectionStatus(
                name: name, cursor: cursor, eventsApplied: checkpoint?.eventsApplied ?? 0, behind: try log.count(after: cursor),
                waitingBehindHorizon: try log.countWaiting(after: cursor, horizon: horizon), updatedAt: checkpoint?.updatedAt,
                rebuildRequested: checkpoint?.rebuildRequested ?? false,
                quarantined: try ProjectionQuarantine(connection: connection, projection: name).entries())
        }
        return ProjectionsStatus(projections: projections, horizonHolder: try HorizonHolder.oldest(on: connection))
    }
}
