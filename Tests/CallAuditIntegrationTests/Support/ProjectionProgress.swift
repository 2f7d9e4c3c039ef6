import CallAuditProjections
import CallAuditQueries

/// Whether every projection the service keeps has applied every committed event.
func projectionsCaughtUp(_ database: TestDatabase) throws -> Bool {
    let status = try ReadSide(connection: database.owner()).projectionStatus(ProjectionCatalog.names)
    return status.projections.allSatisfy { $0.behind == 0 && $0.eventsApplied > 0 }
}
