import CallAuditDomain
import CallAuditQueries
import CallAuditRuntime
import CallAuditStore
import Foundation

/// A period's findings, read on a second
/// session that imports the caller's snapshot (`pg_export_snapshot`): the
/// same rows the caller's transaction sees, while the caller reads the rest.
/// Without a second session, it reads them on the caller's.
struct FindingListing: Sendable {
    typealias Encoded = [FindingRow]

    private let work: BackgroundWork<Encoded, any Error>

    static func start(_ period: ReportPeriod, sharing connection: PostgresConnection, helper: DatabaseConfiguration?) throws -> FindingListing {
        let query = FindingQuery(from: period.start, to: period.end)
        guard let helper else {
            return FindingListing(work: BackgroundWork(completed: Result { try read(query, on: connection) }))
        }
        let snapshot = try connection.query("SELECT pg_export_snapshot()").decodeScalar(String.self)
        return FindingListing(
            work: BackgroundWork(name: "callaudit-reports-findings") {
                let session = try helper.connect(application: "callaudit-reports-findings")
                try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try session.query("SET TRANSACTION SNAPSHOT '\(snapshot.filter { $0.isHexDigit || $0 == "-" })'")
                defer { try? session.execute("COMMIT") }
                return try read(query, on: session)
            })
    }

    func wait() throws -> Encoded { try work.value() }

    private static func read(_ query: FindingQuery, on connection: PostgresConnection) throws -> Encoded {
        var rows: [FindingRow] = []
        try ReadSide(connection: connection).findings(query) { rows.append($0) }
        return rows
    }
}
