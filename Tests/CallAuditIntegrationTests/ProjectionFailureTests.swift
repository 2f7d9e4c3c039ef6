import CallAuditDomain
import CallAuditProjections
import CallAuditQueries
import CallAuditStore
import Foundation
import Synchronization
import Testing

extension DatabaseTests {
/// Each class of database failure, injected while projections apply batches; rebuilds seen from a reader.
@Suite("Projections under database failures")
struct ProjectionFailureTests {
    /// A database with `count` call.ended events in `streams` calls, and the per-event test projection's table.
    func logWithEvents(_ count: Int, streams: Int = 10) throws -> TestDatabase {
        let database = try TestDatabase.create()
        try database.owner().execute("CREATE TABLE test_applied (stream text, event_id text); GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON test_applied TO callaudit_writer; INSERT INTO rebuildable_tables VALUES ('test_applied')")
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(
            IngestBatch(events: try (0..<count).map {
                IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "e\($0)", call: "c\($0 % streams)")), origin: nil)
            }), consumerGroup: "g")
        return database
    }

    func quarantined(_ database: TestDatabase, _ projection: String) throws -> [String] {
        try ProjectionQuarantine(connection: try database.owner(), projection: projection).entries().map(\.stream)
    }

    @Test(
        "transient errors during a batch: rolled back and retried, nothing quarantined, nothing skipped",
        arguments: ["55P03", "40001", "40P01", "53100", "57014", "58030", "25006"])
    func transientErrorsAreRetried(sqlState: String) throws {
        let database = try logWithEvents(500)
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("projection_daily_volume", eventIDColumn: nil)
        try faults.inject(sqlState, into: "projection_daily_volume", for: 1.5)
        let runner = ProjectionRunner(
            projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, batchSize: 100,
            pollInterval: .milliseconds(100))
        Thread { runProjection(runner) }.start()
        #expect(try waitUntil(seconds: 30) { try database.count("SELECT coalesce(sum(events), 0) FROM projection_daily_volume") == 500 })
        runner.requestStop()
        #expect(try quarantined(database, "daily_volume").isEmpty)
        #expect(try database.count("SELECT events_applied FROM projection_checkpoints WHERE projection = 'daily_volume'") == 500)
    }

    @Test("a fatal error stops the runner with what to fix, and the checkpoint stays before the failed batch")
    func fatalErrorStopsTheRunner() throws {
        let database = try logWithEvents(50)
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("projection_daily_volume", eventIDColumn: nil)
        try faults.inject("42501", into: "projection_daily_volume")
        let runner = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger)
        let failure = #expect(throws: ProjectionFailure.self) { try runner.run() }
        #expect(failure?.description.contains("privilege") == true)
        #expect(try database.count("SELECT events_applied FROM projection_checkpoints WHERE projection = 'daily_volume'") == 0)
        #expect(try quarantined(database, "daily_volume").isEmpty)
    }

    @Test("bad input quarantines only the stream of the event the server refused")
    func badInputQuarantinesItsStream() throws {
        let database = try logWithEvents(100)
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("test_applied")
        try faults.inject("22P02", into: "test_applied", eventID: "e13")
        let runner = ProjectionRunner(projection: PerEventProjection(), databaseURL: database.serviceURL, logger: quietLogger)
        try runner.catchUpWithTheLog(of: database)
        #expect(try quarantined(database, "test_per_event") == ["call-c3"])
        #expect(try database.count("SELECT count(*) FROM test_applied") == 91, "c3 stops at e13; the other nine calls go on")
        let error = try ProjectionQuarantine(connection: try database.owner(), projection: "test_per_event").entries().first?.error ?? ""
        #expect(error.contains("22P02") && !error.contains("+4930123456"), "the quarantine keeps the primary message only: \(error)")
    }

    @Test("readers never wait on a rebuild or see it half built: they read the old projection until the swap, then the new one")
    func readersDuringARebuild() throws {
        let database = try logWithEvents(3_000)
        defer { database.drop() }
        let runner = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, batchSize: 100)
        try runner.catchUpWithTheLog(of: database)
        let reader = try PostgresConnection(conninfo: database.serviceURL)
        try reader.execute("SET lock_timeout = '300ms'")
        func total() throws -> Int { Int(try reader.query("SELECT coalesce(sum(events), 0) FROM projection_daily_volume").scalar ?? "0")! }

        // Halfway through the rebuild, read from another session.
        let seen = Mutex<[Int]>([])
        let rebuilt = try runner.rebuild { done in
            guard done == 1_500 else { return }
            seen.withLock { $0.append((try? total()) ?? -1) }
        }
        #expect(rebuilt.events == 3_000)
        #expect(seen.withLock { $0 } == [3_000], "the reader saw the whole old projection, without waiting")
        #expect(try total() == 3_000)
        #expect(try database.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'callaudit_rebuild'") == 0)
        let grants = try database.owner().query(
            "SELECT has_table_privilege('callaudit_reader', 'public.projection_daily_volume', 'SELECT')").scalar
        #expect(grants == "t", "the swapped-in table keeps the live one's grants")
    }

    @Test("a rebuild asked of the running leader is done by it, in the background of its normal work")
    func rebuildOnRequest() throws {
        let database = try logWithEvents(200)
        defer { database.drop() }
        let runner = ProjectionRunner(
            projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, pollInterval: .milliseconds(100))
        Thread { runProjection(runner) }.start()
        defer { runner.requestStop() }
        #expect(try waitUntil(seconds: 30) { try database.count("SELECT coalesce(sum(events), 0) FROM projection_daily_volume") == 200 })
        let (output, status) = try runCallAudit(["projections", "rebuild", "daily_volume", "--database-url", database.serviceURL])
        #expect(status == 0 && output.contains("a running service leads daily_volume"), "\(output)")
        #expect(try waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM projection_checkpoints WHERE projection = 'daily_volume' AND NOT rebuild_requested") == 1
        })
        #expect(try database.count("SELECT coalesce(sum(events), 0) FROM projection_daily_volume") == 200)
    }

    @Test("`projections status` names an idle-in-transaction session that holds back the horizon, and warns")
    func statusNamesTheHorizonHolder() throws {
        let database = try logWithEvents(10)
        defer { database.drop() }
        let blocker = try PostgresConnection(conninfo: database.ownerURL + "?application_name=stuck-report-job")
        try blocker.execute("BEGIN; SELECT pg_current_xact_id()")
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(IngestBatch(events: [IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "late")), origin: nil)]), consumerGroup: "g")
        // The horizon is the cluster's: a transaction of a test running alongside may be older for a moment.
        var (output, status) = ("", Int32(0))
        _ = try waitUntil(seconds: 30) {
            (output, status) = try runCallAudit(["projections", "status", "--database-url", database.serviceURL, "--warn-after", "0"])
            return output.contains("pid \(blocker.backendPID) ")
        }
        #expect(status == 0)
        #expect(output.contains("pid \(blocker.backendPID) (stuck-report-job), idle in transaction"), "\(output)")
        #expect(output.contains("1 committed event(s) wait behind it"), "\(output)")
        #expect(output.contains("WARNING"))
        try blocker.execute("ROLLBACK")
        let (after, _) = try runCallAudit(["projections", "status", "--database-url", database.serviceURL])
        #expect(!after.contains("stuck-report-job"), "\(after)")
    }
}
}

/// Writes each event into `test_applied`: one row per event, so the server can refuse one event.
private struct PerEventProjection: Projection {
    let name = "test_per_event"
    let tables = ["test_applied"]

    func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        for event in events {
            try connection.query(
                "INSERT INTO test_applied VALUES ($1, $2)", [.text(event.stream), .text(try event.document()["id"]!.stringValue!)])
        }
    }
}
