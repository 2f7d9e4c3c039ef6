import CallAuditDomain
import CallAuditQueries
import CallAuditStore
import Foundation

/// A period's findings, read on a second
/// session that imports the caller's snapshot (`pg_export_snapshot`): the
/// same rows the caller's transaction sees, while the caller reads the rest.
/// Without a second session, it reads them on the caller's.
struct FindingListing: @unchecked Sendable {
    typealias Encoded = [FindingRow]

    private let done = DispatchSemaphore(value: 0)
    private let box = Box()

    private final class Box: @unchecked Sendable { var result: Result<Encoded, any Error>? }

    static func start(_ period: ReportPeriod, sharing connection: PostgresConnection, helper: DatabaseConfiguration?) throws -> FindingListing {
        let listing = FindingListing()
        let query = FindingQuery(from: period.start, to: period.end)
        guard let helper else {
            listing.box.result = Result { try read(query, on: connection) }
            listing.done.signal()
            return listing
        }
        let snapshot = try connection.query("SELECT pg_export_snapshot()").decodeScalar(String.self)
        let (box, done) = (listing.box, listing.done)
        Thread {
            box.result = Result {
                let session = try helper.connect(application: "callaudit-reports-findings")
                try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try session.query("SET TRANSACTION SNAPSHOT '\(snapshot.filter { $0.isHexDigit || $0 == "-" })'")
                defer { try? session.execute("COMMIT") }
                return try read(query, on: session)
            }
            done.signal()
        }.start()
        return listing
    }

    func wait() throws -> Encoded {
        done.wait()
        done.signal()
        return try box.result!.get()
    }

    private static func read(_ query: FindingQuery, on connection: PostgresConnection) throws -> Encoded {
        var rows: [FindingRow] = []
        try ReadSide(connection: connection).findings(query) { rows.append($0) }
        return rows
    }
}
