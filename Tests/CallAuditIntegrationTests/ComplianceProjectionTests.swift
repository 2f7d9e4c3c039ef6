import CallAuditDomain
@testable import CallAuditProjections
import CallAuditSimulator
import CallAuditStore
import Foundation
import Synchronization
import Testing

extension DatabaseTests {
@Suite("Compliance projection")
struct ComplianceProjectionTests {
    static let clockStart = Timestamp(rfc3339: "2026-11-24T00:00:00Z")!

    /// A clock the test moves by hand.
    final class TestClock: Sendable {
        let microseconds = Atomic<Int64>(ComplianceProjectionTests.clockStart.microseconds)
        var now: Timestamp { Timestamp(microseconds: microseconds.load(ordering: .relaxed)) }
        func set(_ time: Timestamp) { microseconds.store(time.microseconds, ordering: .relaxed) }
    }

    func simulatedEvents(calls: Int) -> [IncomingEvent] {
        var configuration = SimulationConfiguration()
        configuration.calls = calls
        configuration.violationRate = 0.3
        configuration.seed = 5
        var events: [IncomingEvent] = []
        TrafficSimulator(configuration: configuration).generate { message in
            let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
            if case .success(let event) = EventDecoder().decode(incoming) { events.append(IncomingEvent(event: event, origin: nil)) }
        }
        return events
    }

    func project(_ events: [IncomingEvent], batches: Int = 1, clock: TestClock = TestClock()) throws -> (TestDatabase, [[String?]]) {
        let database = try TestDatabase.create()
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { clock.now }), databaseURL: database.serviceURL, logger: quietLogger,
            batchSize: 250)
        let size = max(events.count / batches, 1)
        for start in stride(from: 0, to: events.count, by: size) {
            try store.append(IngestBatch(events: Array(events[start..<min(start + size, events.count)])), consumerGroup: "g")
            try runner.catchUpWithTheLog(of: database)
        }
        return (database, try openFindings(database))
    }

    func openFindings(_ database: TestDatabase) throws -> [[String?]] {
        try database.owner().query(
            """
            SELECT rule, occurred_at::text, call_id, recording_id, party_id, request_id, citation, array_to_string(evidence, ' ')
            FROM findings WHERE status = 'open' ORDER BY 1, 2, 3, 4, 5, 6, 8
            """).rows
    }

    @Test("the same events delivered in shuffled orders and batches give identical findings")
    func orderIndependent() throws {
        let events = simulatedEvents(calls: 300)
        let (first, inOrder) = try project(events)
        defer { first.drop() }
        #expect(inOrder.count > 20)
        #expect(Set(inOrder.map { $0[0]! }).count >= 7, "many rules fire")
        for seed in 1...2 {
            var rng = SeededRandom(seed: UInt64(seed))
            let (database, shuffled) = try project(events.shuffled(using: &rng), batches: 7)
            defer { database.drop() }
            #expect(shuffled == inOrder)
        }
    }

    @Test("a late consent withdraws the finding it cures, and the change is kept")
    func lateEventWithdraws() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let runner = ProjectionRunner(projection: ComplianceProjection(policy: .default, clock: { Self.clockStart }), databaseURL: database.serviceURL, logger: quietLogger)
        try store.append(IngestBatch(events: [
            try Self.event("s", .callStarted, at: "2026-11-23T10:00:00Z", ["call_id": "c", "direction": "inbound", "channel": "phone", "parties": [
                ["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": "E1"]],
                ["party_id": "p", "role": "customer", "jurisdiction": "DE", "subject": ["phone": "+4930123456"]],
            ]]),
            try Self.event("r", .recordingStarted, at: "2026-11-23T10:00:05Z", ["call_id": "c", "recording_id": "r1"]),
        ]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        #expect(try openFindings(database).map { $0[0]! } == ["CONSENT_MISSING"])

        // The consent was given two seconds after recording began; its event arrives late.
        try store.append(IngestBatch(events: [
            try Self.event("k", .consentGiven, at: "2026-11-23T10:00:07Z", ["call_id": "c", "party_id": "p", "method": "verbal", "scope": ["recording"]]),
        ]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        #expect(try openFindings(database).isEmpty)
        let history = "SELECT rule, string_agg(change, ',' ORDER BY id) FROM finding_changes GROUP BY finding_key, rule"
        #expect(try database.owner().query(history).rows == [["CONSENT_MISSING", "raised,withdrawn"]])
        #expect(try database.count("SELECT count(*) FROM findings WHERE status = 'withdrawn'") == 1)

        // The history is an audit record: a rebuild, which forgets the withdrawn finding, keeps it as it was.
        try runner.rebuild()
        #expect(try database.count("SELECT count(*) FROM findings") == 0)
        #expect(try database.owner().query(history).rows == [["CONSENT_MISSING", "raised,withdrawn"]])
        let truncate = #expect(throws: PostgresError.self) { try PostgresConnection(conninfo: database.serviceURL).execute("TRUNCATE finding_changes") }
        #expect(truncate?.sqlState == "42501", "the finding history is append-only")
    }

    @Test("retention is judged against the clock: a tick after the deadline raises the finding, a deletion after that keeps it")
    func retentionByClock() throws {
        let clock = TestClock()
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let runner = ProjectionRunner(projection: ComplianceProjection(policy: .default, clock: { clock.now }), databaseURL: database.serviceURL, logger: quietLogger)
        let stored = try EventDecoder.validate([
            "specversion": "1.0", "id": "st", "source": "urn:t", "type": "recording.stored", "time": "2026-11-24T00:00:00Z",
            "data": ["call_id": "c", "recording_id": "r9", "storage_uri": "s3://x", "sha256": .string(String(repeating: "0", count: 64)),
                     "duration_seconds": 5, "bytes": 10],
        ])
        try store.append(IngestBatch(events: [IncomingEvent(event: stored, origin: nil)]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        #expect(try openFindings(database).isEmpty)
        clock.set(Timestamp(rfc3339: "2026-12-24T00:00:00Z")!)
        try runner.catchUpWithTheLog(of: database)
        #expect(try openFindings(database).isEmpty, "due exactly now, not yet past")
        clock.set(Timestamp(rfc3339: "2026-12-24T00:00:01Z")!)
        try runner.catchUpWithTheLog(of: database)
        let findings = try openFindings(database)
        #expect(findings.map { $0[0]! } == ["RETENTION_EXCEEDED"])
        #expect(findings.first?[1]?.hasPrefix("2026-12-24 00:00:00") == true)

        let lateDeletion = try EventDecoder.validate([
            "specversion": "1.0", "id": "del", "source": "urn:t", "type": "recording.deleted", "time": "2026-12-25T00:00:00Z",
            "data": ["recording_id": "r9", "reason": "retention_expired", "method": "purge", "actor": ["id": "svc", "role": "system"]],
        ])
        try store.append(IngestBatch(events: [IncomingEvent(event: lateDeletion, origin: nil)]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        let afterDeletion = try openFindings(database)
        #expect(afterDeletion.map { $0[0]! } == ["RETENTION_EXCEEDED"])
        #expect(afterDeletion.first?[7] == "st del", "the late deletion is now part of the evidence")
    }

    @Test("events appended while a rebuild folds the log are applied after it: none skipped, none applied twice")
    func rebuildUnderConcurrentAppends() throws {
        let events = simulatedEvents(calls: 400)
        let (reference, expected) = try project(events, batches: 4)
        defer { reference.drop() }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let half = events.count / 2
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(IngestBatch(events: Array(events[..<half])), consumerGroup: "g")
        let appender = Thread {
            let store = EventStore(connection: try! PostgresConnection(conninfo: database.serviceURL))
            for start in stride(from: half, to: events.count, by: 50) {
                try! store.append(IngestBatch(events: Array(events[start..<min(start + 50, events.count)])), consumerGroup: "g")
            }
        }
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { Self.clockStart }), databaseURL: database.serviceURL, logger: quietLogger,
            batchSize: 250)
        appender.start()
        let outcome = try runner.rebuild()
        #expect(outcome.folded)
        #expect(try waitUntil(seconds: 60) { try database.count("SELECT count(*) FROM events") == events.count })
        try runner.catchUpWithTheLog(of: database)
        #expect(try openFindings(database) == expected)
        #expect(try database.count("SELECT events_applied FROM projection_checkpoints WHERE projection = 'compliance'") == events.count)
    }

    @Test("`callaudit findings` lists a period's open findings as table, CSV and JSON, the same findings in each, and filters by rule")
    func findingsCommand() throws {
        let (database, open) = try project(simulatedEvents(calls: 200))
        defer { database.drop() }
        let period = ["findings", "--database-url", database.ownerURL, "--from", "2000-01-01", "--to", "2100-01-01"]
        let rules = open.map { $0[0]! }.sorted()

        let json = try runCallAudit(period + ["--format", "json"])
        #expect(json.status == 0)
        let listed = try JSONParser.parse(json.output).arrayValue ?? []
        #expect(listed.compactMap { $0["rule"]?.stringValue }.sorted() == rules)
        #expect(listed.allSatisfy { $0["citation"]?.stringValue?.isEmpty == false && $0["evidence"]?.arrayValue?.isEmpty == false })

        let csv = try runCallAudit(period + ["--format", "csv"]).output.split(separator: "\n")
        #expect(csv.first?.hasPrefix("occurred_at,rule,severity,status,") == true)
        #expect(csv.dropFirst().map { String($0.split(separator: ",")[1]) }.sorted() == rules)

        let table = try runCallAudit(period).output.split(separator: "\n")
        #expect(table.count == rules.count)

        let consent = try runCallAudit(period + ["--format", "csv", "--rule", "CONSENT_MISSING"]).output.split(separator: "\n")
        #expect(consent.count - 1 == rules.filter { $0 == "CONSENT_MISSING" }.count)
        #expect(try runCallAudit(period + ["--rule", "NOT_A_RULE"]).status != 0, "an unknown rule is a usage error")
    }

    /// One event of `type` with `data`, as ingest would store it.
    static func event(_ id: String, _ type: EventType, at time: String, _ data: JSONValue) throws -> IncomingEvent {
        IncomingEvent(event: try EventDecoder.validate(
            ["specversion": "1.0", "id": .string(id), "source": "urn:t", "type": .string(type.rawValue), "time": .string(time), "data": data]),
            origin: nil)
    }

    /// Every fact, deadline and finding of the projection, table by table.
    static func state(of owner: PostgresConnection) throws -> [[[String?]]] {
        try [
            "SELECT call_id, facts::text FROM compliance_calls ORDER BY 1",
            "SELECT recording_id, call_id, facts::text FROM compliance_recordings ORDER BY 1",
            "SELECT hold_id, facts::text FROM compliance_holds ORDER BY 1",
            "SELECT request_id, subject_keys::text, facts::text FROM compliance_requests ORDER BY 1",
            "SELECT subject_key, call_id FROM compliance_subject_calls ORDER BY 1, 2",
            "SELECT subject, due_at::text, judged_after_due::text FROM compliance_deadlines ORDER BY 1",
            "SELECT finding_key, subject, fingerprint, status FROM findings ORDER BY 1",
        ].map { try owner.query($0).rows }
    }

    /// In one chunk (judged in memory); in chunks of 300 events, facts read back 7 at a time, with a filter
    /// that remembers what was written out and with one too small to rule anything out (every key looked up).
    static let rebuildLimits = [
        ComplianceRebuildLimits(),
        ComplianceRebuildLimits(eventsPerChunk: 300, factsPerPage: 7, filterBits: 1 << 16),
        ComplianceRebuildLimits(eventsPerChunk: 300, factsPerPage: 7, filterBits: 64),
    ]

    @Test(
        "a rebuild, in one chunk or written out chunk by chunk, gives exactly the incremental findings, facts and deadlines, and batches carry on from it",
        arguments: rebuildLimits)
    func rebuildMatchesIncremental(limits: ComplianceRebuildLimits) throws {
        let events = simulatedEvents(calls: 400)
        let (database, incremental) = try project(Array(events.prefix(2_000)), batches: 5)
        defer { database.drop() }
        let owner = try database.owner()
        func state() throws -> [[[String?]]] { try Self.state(of: owner) }
        // Withdrawn findings differ by history, not by verdict: compare the open ones and every fact.
        let before = try state().map { $0.filter { $0.last != "withdrawn" } }
        let historyBefore = try owner.query("SELECT id, finding_key, change FROM finding_changes ORDER BY id").rows
        #expect(!historyBefore.isEmpty)
        // The copies are indexed after they are filled (in memory) or before the first chunk is written out: the same indexes, named alike.
        let indexes = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND (tablename LIKE 'compliance%' OR tablename LIKE 'finding%') ORDER BY 1, 2"
        let indexesBefore = try owner.query(indexes).rows
        #expect(indexesBefore.count >= 14)
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { Self.clockStart }, rebuildLimits: limits),
            databaseURL: database.serviceURL, logger: quietLogger, batchSize: 250)
        let outcome = try runner.rebuild()
        #expect(outcome.folded && outcome.fallbackReason == nil)
        #expect(outcome.events == 2_000)
        #expect(try openFindings(database) == incremental)
        #expect(try state() == before)
        #expect(try owner.query(indexes).rows == indexesBefore)
        // The finding history is kept, not rewritten: the rebuild found what was already reported, so it adds nothing.
        #expect(try owner.query("SELECT id, finding_key, change FROM finding_changes ORDER BY id").rows == historyBefore)

        // The rest of the log, batch by batch on top of the rebuild, ends where applying it all incrementally does.
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(IngestBatch(events: Array(events.dropFirst(2_000))), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        let (reference, all) = try project(events, batches: 3)
        defer { reference.drop() }
        #expect(try openFindings(database) == all)
    }

    @Test(
        "recordings of a call never started, started chunks later or moved to one never started, and a recording of no call at all, are judged by a chunked rebuild as batches judge them",
        arguments: [
            ComplianceRebuildLimits(eventsPerChunk: 2, factsPerPage: 3, filterBits: 1 << 16),
            ComplianceRebuildLimits(eventsPerChunk: 300, factsPerPage: 7, filterBits: 64),
        ])
    func recordingsOfNoCall(limits: ComplianceRebuildLimits) throws {
        func stored(_ recording: String, of call: String, at time: String) throws -> IncomingEvent {
            try Self.event("stored-\(recording)-\(call)", .recordingStored, at: time, [
                "call_id": .string(call), "recording_id": .string(recording), "storage_uri": .string("s3://recordings/\(recording)"),
                "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 60, "bytes": 4_096,
            ])
        }
        let simulated = simulatedEvents(calls: 40)
        let events = try [
            stored("orphan", of: "never-started", at: "2026-10-01T09:00:00Z"),
            stored("early", of: "started-later", at: "2026-10-01T09:05:00Z"),
            stored("moved", of: "started-later", at: "2026-10-01T09:06:00Z"),
        ] + simulated.prefix(150) + [
            try Self.event("late-start", .callStarted, at: "2026-10-01T09:00:00Z", [
                "call_id": "started-later", "direction": "inbound", "channel": "phone", "parties": [
                    ["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": "E1"]],
                ],
            ]),
            try Self.event("access-orphan", .recordingAccessed, at: "2026-10-02T09:00:00Z", [
                "recording_id": "orphan", "actor": ["id": "x1", "role": "marketing"], "action": "download",
            ]),
            // A recording known only from an access: no call at all.
            try Self.event("access-unknown", .recordingAccessed, at: "2026-10-02T09:01:00Z", [
                "recording_id": "never-stored", "actor": ["id": "x1", "role": "marketing"], "action": "download",
            ]),
        ] + simulated.dropFirst(150) + [
            stored("moved", of: "never-started-either", at: "2026-10-03T09:00:00Z"),
        ]
        let (database, incremental) = try project(events, batches: 4)
        defer { database.drop() }
        let owner = try database.owner()
        let before = try Self.state(of: owner).map { $0.filter { $0.last != "withdrawn" } }
        let orphans = "SELECT count(*) FROM compliance_deadlines WHERE subject LIKE '%orphan%' OR subject LIKE '%moved%'"
        let judged = try owner.query(orphans).decodeScalar(Int64.self)
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { Self.clockStart }, rebuildLimits: limits),
            databaseURL: database.serviceURL, logger: quietLogger, batchSize: 250)
        #expect(try runner.rebuild().folded)
        #expect(try openFindings(database) == incremental)
        #expect(try Self.state(of: owner) == before)
        #expect(judged == 2, "the recordings of a call never started have their retention deadlines")
        #expect(incremental.contains { $0[3] == "never-stored" }, "the access to a recording of no call is a finding")
    }

    /// Review 13's probe: a chunk's write fails in the background (a CHECK its rows break: 23514, bad input)
    /// while the fold goes on; the fold's next statement meets the aborted transaction (25P02). The write's
    /// error is the one reported, so the runner goes batch by batch as it does for bad input, not fatal.
    @Test("a chunk write that fails on its own thread is reported as its own error, not as the aborted transaction the fold then meets")
    func failedChunkWriteIsTheErrorReported() throws {
        let perChunk = 40_000
        let facts = try ComplianceRebuild.prepare(simulatedEvents(calls: 300).map { String(decoding: $0.event.canonical, as: UTF8.self) })
        let cycled = (0..<perChunk).map { facts[$0 % facts.count] }
        for _ in 0..<3 {
            let database = try TestDatabase.create()
            defer { database.drop() }
            let connection = try database.owner()
            try connection.execute("BEGIN")
            let projection = ComplianceProjection(policy: .default, clock: { Self.clockStart })
            try ShadowTables(connection: connection, tables: projection.tables, scratch: projection.scratchTables, unindexed: projection.indexedAfterFill)
                .create()
            var rebuild = ComplianceRebuild(
                policy: .default, clock: { Self.clockStart },
                limits: ComplianceRebuildLimits(eventsPerChunk: perChunk, factsPerPage: 1_000, filterBits: 1 << 24))
            try rebuild.fold(cycled, in: connection)  // chunk 1, written on its thread
            try rebuild.waitForChunkWritten()
            // From here every row written to the calls table is refused: chunk 2's write fails at its first COPY,
            // and chunk 3 loads chunk 1's facts back from the tables in the aborted transaction.
            try connection.execute("ALTER TABLE callaudit_rebuild.compliance_calls ADD CONSTRAINT poison CHECK (false) NOT VALID")
            let reported: any Error
            do {
                try rebuild.fold((0..<perChunk).map { facts[$0 % 50] } + cycled, in: connection)
                try rebuild.finish(in: connection, lastPosition: nil)
                Issue.record("the poisoned table took the chunk")
                continue
            } catch {
                reported = rebuild.abandon(after: error)
            }
            try connection.execute("ROLLBACK")
            #expect((reported as? PostgresError)?.sqlState == "23514", "reported: \(reported)")
            #expect(FailureClass(of: reported) == .badInput)
        }
    }
}
}
