import CallAuditDomain
import CallAuditProjections
import CallAuditStore
import Foundation
import Synchronization
import Testing

extension DatabaseTests {
@Suite("Projection runner")
struct ProjectionTests {
    @Test("an event committed late by a concurrent writer is applied; a position > checkpoint reader would have skipped it")
    func lateCommitIsNotSkipped() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let older = try database.owner()
        let newer = try database.owner()
        try older.execute("BEGIN")
        try older.query("SELECT pg_current_xact_id()")  // the older transaction id
        try newer.execute("BEGIN")
        try insertEvent("late", on: newer)              // smaller position, newer transaction, still open
        try insertEvent("early", on: older)             // larger position, older transaction
        try older.execute("COMMIT")

        let runner = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger)
        // Another test's transaction on the cluster can hold the horizon below "early" for a while
        // (`catchUpWithTheLog`, which cannot be used while this test holds `newer` open): try until it is read.
        #expect(try waitUntil(seconds: 30) {
            _ = try runner.catchUp()
            return try volume(database) >= 1
        })
        #expect(try volume(database) == 1)
        let naiveCheckpoint = try database.count("SELECT max(position) FROM events")

        try newer.execute("COMMIT")
        #expect(
            try database.count("SELECT count(*) FROM events WHERE position > \(naiveCheckpoint)") == 0,
            "the late event sits below the highest position already seen")
        try runner.catchUpWithTheLog(of: database)
        #expect(try volume(database) == 2, "the log reader applied the late event")
    }

    @Test("the log is read in transaction-id order across a change in digit count, not in text order")
    func transactionOrderIsNumeric() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        // As the owner, place events at transaction ids 8 to 12: in text order "10" < "11" < "12" < "8" < "9".
        let owner = try database.owner()
        for xid in 8...12 { try insertEvent("xid-\(xid)", on: owner, transactionID: xid) }
        let runner = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, batchSize: 2)
        try runner.catchUp()
        #expect(try volume(database) == 5, "no event skipped when the cursor crosses from 9 to 10")
    }

    @Test("the log reader gives back each event's columns as stored: times before 1970 and 2000, to the microsecond, and non-ASCII text")
    func logReaderGivesBackStoredColumns() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        let times = ["1969-07-20T20:17:40.000001Z", "1999-12-31T23:59:59.999999Z", "2000-01-01T00:00:00Z",
                     "2026-11-24T10:00:00.123456Z", "2199-06-30T12:00:00.5Z"]
        let events = try times.indices.map { try EventDecoder.validate(ContractEvent.callEnded(id: "t-\($0)", call: "anruf-ä-\($0)")) }
        for (event, time) in zip(events, times) {
            try owner.query(
                "INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [.text(event.stream), .text(event.typeName), .text(event.source), .text(event.id), .text(time),
                 .text(String(decoding: event.canonical, as: UTF8.self)), .bytes(event.contentHash)])
        }
        let log = EventLog(connection: owner)
        let read = try log.read(after: .start, below: try log.horizon(), limit: 100)
        #expect(read.map(\.time) == times.map { Timestamp(rfc3339: $0)! })
        #expect(read.map(\.stream) == events.map(\.stream))
        #expect(read.map(\.type) == events.map(\.typeName))
        #expect(read.map(\.json) == events.map { String(decoding: $0.canonical, as: UTF8.self) })
        let stored = try database.count("SELECT max(transaction_id::text::bigint) FROM events")
        #expect(read.map(\.cursor.transactionID).allSatisfy { $0 > 0 && $0 <= UInt64(stored) })
        #expect(zip(read, read.dropFirst()).allSatisfy { $0.cursor.position < $1.cursor.position })
    }

    @Test("concurrent appenders while the projection runs: no event skipped, none applied twice; a rebuild gives the same result")
    func concurrentAppendersAndRebuild() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let runner = ProjectionRunner(
            projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, batchSize: 97,
            pollInterval: .milliseconds(200))
        let running = Thread { runProjection(runner) }
        running.start()
        let writers = 4
        let perWriter = 600
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let store = EventStore(connection: try! PostgresConnection(conninfo: database.serviceURL))
            for batch in 0..<(perWriter / 20) {
                let events = (0..<20).map { i in
                    IncomingEvent(event: try! EventDecoder.validate(ContractEvent.callEnded(id: "w\(writer)-\(batch)-\(i)")), origin: nil)
                }
                try! store.append(IngestBatch(events: events), consumerGroup: "g")
            }
        }
        let total = writers * perWriter
        #expect(try waitUntil(seconds: 60) { try volume(database) >= total })
        runner.requestStop()
        #expect(try volume(database) == total)
        let incremental = try database.owner().query("SELECT day, type, events FROM projection_daily_volume ORDER BY 1, 2").rows

        let rebuilt = try ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger).rebuild()
        #expect(rebuilt.events == total && !rebuilt.folded)
        #expect(try database.owner().query("SELECT day, type, events FROM projection_daily_volume ORDER BY 1, 2").rows == incremental)
    }

    @Test("two runners for one projection: one leads, the other stands by and takes over; nothing applied twice")
    func oneLeaderAtATime() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let runners = (0..<2).map { _ in
            ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, pollInterval: .milliseconds(100))
        }
        let threads = runners.map { runner in Thread { runProjection(runner) } }
        threads.forEach { $0.start() }
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(IngestBatch(events: (0..<500).map { IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "a\($0)")), origin: nil) }), consumerGroup: "g")
        #expect(try waitUntil(seconds: 30) { try volume(database) == 500 })
        #expect(try holdsThroughout(seconds: 0.5) { try volume(database) == 500 }, "the standby did not apply the events again")
        runners.forEach { $0.requestStop() }
        #expect(
            try waitUntil(seconds: 10) {
                try database.count(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-projection-daily_volume-leader'") == 0
            }, "both runners let go of the lead")
        let successor = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, pollInterval: .milliseconds(100))
        Thread { runProjection(successor) }.start()
        try store.append(IngestBatch(events: (0..<300).map { IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "b\($0)")), origin: nil) }), consumerGroup: "g")
        #expect(try waitUntil(seconds: 30) { try volume(database) == 800 })
        successor.requestStop()
    }

    @Test("a poison event quarantines only its stream: other streams go on, status shows it, retry re-applies after a fix")
    func poisonEventQuarantinesItsStream() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute(
            "CREATE TABLE test_applied (stream text, event_id text); GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON test_applied TO callaudit_writer; INSERT INTO rebuildable_tables VALUES ('test_applied')")
        let projection = RecordingProjection()
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let events = ["c1": ["a", "poison", "b"], "c2": ["x", "y"], "c3": ["z"]].flatMap { call, ids in
            ids.map { IncomingEvent(event: try! EventDecoder.validate(ContractEvent.callEnded(id: "\(call)-\($0)", call: call)), origin: nil) }
        }
        try store.append(IngestBatch(events: events), consumerGroup: "g")
        let runner = ProjectionRunner(projection: projection, databaseURL: database.serviceURL, logger: quietLogger)
        try runner.catchUpWithTheLog(of: database)

        let applied = Set(try database.owner().query("SELECT event_id FROM test_applied").map { $0[0]! })
        #expect(applied == ["c1-a", "c2-x", "c2-y", "c3-z"], "c1 stops at the poison; the other calls go on")
        let quarantined = try ProjectionQuarantine(connection: try database.owner(), projection: projection.name).entries()
        #expect(quarantined.map(\.stream) == ["call-c1"])
        #expect(quarantined.first?.error.contains("cannot apply") == true)

        try runner.retryQuarantined()
        #expect(try ProjectionQuarantine(connection: try database.owner(), projection: projection.name).entries().count == 1, "still broken")
        projection.fixed.store(true, ordering: .relaxed)
        #expect(try runner.retryQuarantined() == 1)
        let after = Set(try database.owner().query("SELECT event_id FROM test_applied").map { $0[0]! })
        #expect(after == ["c1-a", "c1-poison", "c1-b", "c2-x", "c2-y", "c3-z"])
        #expect(try ProjectionQuarantine(connection: try database.owner(), projection: projection.name).entries().isEmpty)
    }

    @Test("a quarantined stream holds back only its own events, by bytes; a canonically equivalent stream's are applied, and none is lost")
    func quarantineTellsStreamsApartByBytes() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute(
            "CREATE TABLE test_applied (stream text, event_id text); GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON test_applied TO callaudit_writer; INSERT INTO rebuildable_tables VALUES ('test_applied')")
        let projection = RecordingProjection()
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        // "c-é" as one code point, and as e + U+0301: two streams in the log.
        let events = [("c-\u{E9}", ["a", "poison", "b"]), ("c-e\u{301}", ["x", "y"])].flatMap { call, ids in
            ids.map { IncomingEvent(event: try! EventDecoder.validate(ContractEvent.callEnded(id: "ev-\($0)", call: call)), origin: nil) }
        }
        try store.append(IngestBatch(events: events), consumerGroup: "g")
        let runner = ProjectionRunner(projection: projection, databaseURL: database.serviceURL, logger: quietLogger)
        try runner.catchUpWithTheLog(of: database)
        let applied = Set(try database.owner().query("SELECT event_id FROM test_applied").map { $0[0]! })
        let quarantined = try ProjectionQuarantine(connection: try database.owner(), projection: projection.name).entries()
        #expect(quarantined.count == 1)
        #expect(applied == ["ev-a", "ev-x", "ev-y"], "the NFD stream is not the quarantined one: \(applied.sorted())")
        projection.fixed.store(true, ordering: .relaxed)
        #expect(try runner.retryQuarantined() == 1)
        let after = Set(try database.owner().query("SELECT event_id FROM test_applied").map { $0[0]! })
        #expect(after == ["ev-a", "ev-poison", "ev-b", "ev-x", "ev-y"], "every event applied once the stream is retried: \(after.sorted())")
    }

    @Test("two canonically equivalent streams both quarantined: neither's events are applied until retried, then each once")
    func equivalentStreamsBothQuarantined() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute(
            "CREATE TABLE test_applied (stream text, event_id text); GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON test_applied TO callaudit_writer; INSERT INTO rebuildable_tables VALUES ('test_applied')")
        let projection = RecordingProjection()
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let runner = ProjectionRunner(projection: projection, databaseURL: database.serviceURL, logger: quietLogger)
        func calls(_ batch: [(call: String, ids: [String])]) throws {
            let events = batch.flatMap { call, ids in
                ids.map { IncomingEvent(event: try! EventDecoder.validate(ContractEvent.callEnded(id: "ev-\($0)", call: call)), origin: nil) }
            }
            try store.append(IngestBatch(events: events), consumerGroup: "g")
            try runner.catchUpWithTheLog(of: database)
        }
        try calls([("c-\u{E9}", ["a", "poison", "b"]), ("c-e\u{301}", ["x", "poison2", "y"])])
        #expect(try ProjectionQuarantine(connection: try database.owner(), projection: projection.name).entries().count == 2)
        // Later events of both streams wait behind their quarantine.
        try calls([("c-\u{E9}", ["c"]), ("c-e\u{301}", ["z"])])
        let applied = Set(try database.owner().query("SELECT event_id FROM test_applied").map { $0[0]! })
        #expect(applied == ["ev-a", "ev-x"], "held back behind each stream's own poison: \(applied.sorted())")
        projection.fixed.store(true, ordering: .relaxed)
        #expect(try runner.retryQuarantined() == 2)
        let rows = try database.owner().query("SELECT event_id FROM test_applied ORDER BY 1").map { $0[0]! }
        #expect(rows == ["ev-a", "ev-b", "ev-c", "ev-poison", "ev-poison2", "ev-x", "ev-y", "ev-z"], "each once: \(rows)")
    }

    @Test("a rebuild folds a clean log in one read; one that meets a poison event is rolled back and goes batch by batch, quarantining only its stream")
    func foldedRebuildFallsBackOnPoison() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute(
            "CREATE TABLE test_applied (stream text, event_id text, how text); GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON test_applied TO callaudit_writer; INSERT INTO rebuildable_tables VALUES ('test_applied')")
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        func append(_ ids: [String: [String]]) throws {
            try store.append(IngestBatch(events: ids.flatMap { call, ids in
                ids.map { IncomingEvent(event: try! EventDecoder.validate(ContractEvent.callEnded(id: "\(call)-\($0)", call: call)), origin: nil) }
            }), consumerGroup: "g")
        }
        func applied() throws -> [String: String] {
            Dictionary(uniqueKeysWithValues: try database.owner().query("SELECT event_id, how FROM test_applied").map { ($0[0]!, $0[1]!) })
        }
        let runner = ProjectionRunner(projection: FoldingProjection(), databaseURL: database.serviceURL, logger: quietLogger)
        try append(["c1": ["a", "b"], "c2": ["x"]])
        let clean = try runner.rebuild()
        #expect(clean.folded && clean.events == 3)
        #expect(try applied() == ["c1-a": "memory", "c1-b": "memory", "c2-x": "memory"])

        try append(["c1": ["poison"], "c3": ["z"]])
        let poisoned = try runner.rebuild()
        #expect(!poisoned.folded && poisoned.events == 5)
        #expect(poisoned.fallbackReason?.contains("cannot apply") == true)
        #expect(try applied() == ["c1-a": "batch", "c1-b": "batch", "c2-x": "batch", "c3-z": "batch"], "the rolled-back rows are gone; c1 stops at the poison")
        #expect(try ProjectionQuarantine(connection: try database.owner(), projection: "test_folding").entries().map(\.stream) == ["call-c1"])
    }
}
}

/// Writes events into `test_applied`, marked with how: by `apply` in batches, or folded in memory by a rebuild.
/// Neither can take an event whose id contains "poison".
private struct FoldingProjection: BulkRebuildable {
    let name = "test_folding"
    let tables = ["test_applied"]

    struct Rebuild: ProjectionRebuild {
        var rows: [(stream: String, id: String)] = []

        /// A rebuild is given stored JSON only: the stream is the call's, as the store names it.
        static func prepare(_ documents: [String]) throws -> [(stream: String, id: String)] {
            try documents.map { json in
                let document = try JSONParser.parse(json)
                return (stream: "call-" + document["data"]!["call_id"]!.stringValue!, id: document["id"]!.stringValue!)
            }
        }

        mutating func fold(_ page: [(stream: String, id: String)], in connection: PostgresConnection) throws {
            if page.contains(where: { $0.id.contains("poison") }) { throw RecordingProjection.Poison() }
            rows += page
        }

        mutating func finish(in connection: PostgresConnection, lastPosition: Int64?) throws {
            for row in rows { try connection.query("INSERT INTO test_applied VALUES ($1, $2, 'memory')", [.text(row.stream), .text(row.id)]) }
        }
    }

    func makeRebuild() -> Rebuild { Rebuild() }

    func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        for (stream, id) in try zip(events.map(\.stream), Rebuild.prepare(events.map(\.json)).map(\.id)) {
            if id.contains("poison") { throw RecordingProjection.Poison() }
            try connection.query("INSERT INTO test_applied VALUES ($1, $2, 'batch')", [.text(stream), .text(id)])
        }
    }

}

/// Applies events into `test_applied`, and cannot apply one whose id contains "poison" until fixed.
private final class RecordingProjection: Projection {
    let name = "test_recording"
    let tables = ["test_applied"]
    let fixed = Atomic<Bool>(false)

    struct Poison: Error, CustomStringConvertible {
        var description: String { "cannot apply this event" }
    }

    func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        for event in events {
            let id = try event.document()["id"]!.stringValue!
            if id.contains("poison") && !fixed.load(ordering: .relaxed) { throw Poison() }
            try connection.query("INSERT INTO test_applied VALUES ($1, $2)", [.text(event.stream), .text(id)])
        }
    }

}

private func volume(_ database: TestDatabase) throws -> Int {
    try database.count("SELECT coalesce(sum(events), 0) FROM projection_daily_volume")
}
