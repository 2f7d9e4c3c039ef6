import CallAuditProjections
import CallAuditStore
import Foundation
import Testing

extension ProjectionRunner {
    /// `catchUp`, and again until nothing committed to `database` is left
    /// behind the projection's checkpoint. Tests run side by side on one
    /// cluster, and another test's transaction anywhere on it (a CREATE
    /// DATABASE takes a second) holds back the log's horizon, a cluster-wide
    /// snapshot xmin: a catch-up then stops short of events already committed.
    /// Only for tests that hold no transaction of their own open across it.
    @discardableResult
    func catchUpWithTheLog(of database: TestDatabase) throws -> Int {
        let connection = try database.owner()
        let (checkpoints, log) = (ProjectionCheckpoints(connection: connection), EventLog(connection: connection))
        let deadline = Date().addingTimeInterval(30)
        var applied = 0
        while true {
            applied += try catchUp()
            guard try log.count(after: try checkpoints.cursor(of: projection.name)) > 0 else { return applied }
            guard Date() < deadline else {
                Issue.record("\(projection.name) still behind the log after 30 s: a transaction on the cluster holds its horizon back")
                return applied
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
