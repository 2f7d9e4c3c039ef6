import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

extension DatabaseTests {
/// Each class of database failure, injected while ingest runs (real PostgreSQL, mock Kafka).
@Suite("Ingest under database failures")
struct IngestFailureTests {
    /// Inserts fail with `sqlState` for a while; ingest must retry the same batches until they commit.
    @Test(
        "transient errors (lock timeout, serialization, deadlock, disk full, statement timeout, I/O, read-only after failover): no dead letter, nothing lost, progress resumes",
        arguments: ["55P03", "40001", "40P01", "53100", "57014", "58030", "25006"])
    func transientErrorsAreRetried(sqlState: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        try faults.inject(sqlState, into: "events")
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 300, seed: 21)
        try kafka.produce(messages)

        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        #expect(waitUntil(seconds: 60) { ingest.statistics.retries.load(ordering: .relaxed) >= 3 }, "the fault is met, again and again")
        #expect(try consumed(database) == 0 && database.count("SELECT count(*) FROM dead_letters") == 0, "nothing moves while it lasts")
        try faults.clear("events")
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count })
        ingest.stop()
        #expect(try database.count("SELECT count(*) FROM dead_letters") == 0)
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }

    @Test("a real table lock held past lock_timeout (the probe that misfiled 16 events): 0 dead letters, 2,000 events stored")
    func lockTimeoutMisfilesNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute("ALTER DATABASE \(database.name) SET lock_timeout = '200ms'")
        let kafka = try TestKafka()
        let messages = Array(simulatedMessages(calls: 400, seed: 22).prefix(2_000))
        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        let locker = try database.owner()
        try locker.execute("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        try kafka.produce(messages)
        // Held until ingest has met the lock and retried past lock_timeout a few times.
        #expect(waitUntil(seconds: 60) { ingest.statistics.retries.load(ordering: .relaxed) >= 2 }, "the lock was met")
        try locker.execute("COMMIT")
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count })
        ingest.stop()
        #expect(ingest.statistics.retries.load(ordering: .relaxed) > 0, "the lock was met")
        #expect(try database.count("SELECT count(*) FROM dead_letters") == 0)
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }

    @Test("an event the server rejects is dead-lettered alone, named by its COPY line or isolated one by one on the duplicate path")
    func badEventIsDeadLetteredAlone() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        try faults.inject("22023", into: "events", eventID: "poison")
        let kafka = try TestKafka(partitions: 1)
        func message(_ id: String) -> SimulatedMessage {
            SimulatedMessage(
                topic: .calls, key: "c-1", headers: [], value: ContractEvent.callEnded(id: id).canonicalBytes,
                time: Timestamp(rfc3339: "2026-11-24T10:00:00Z")!)
        }
        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        // COPY path: the server names the line.
        try kafka.produce(["a", "poison", "b"].map(message))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == 3 })
        // Duplicate path: "a" again sends the batch through the staging table, where no COPY line is named.
        try faults.inject("22023", into: "events", eventID: "poison-2")
        try kafka.produce(["a", "poison-2", "c"].map(message))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == 6 })
        ingest.stop()
        #expect(try database.owner().query("SELECT event_id FROM events ORDER BY event_id").rows == [["a"], ["b"], ["c"]])
        let letters = try database.owner().query("SELECT reason, detail, kafka_offset FROM dead_letters ORDER BY kafka_offset").rows
        #expect(letters.map { $0[0]! } == ["store_rejected", "store_rejected"])
        #expect(letters.map { $0[2]! } == ["1", "4"])
        #expect(letters.allSatisfy { !$0[1]!.contains("+4930123456") }, "the server's DETAIL, which can quote values, stays out")
    }

    @Test("a fatal error stops ingest with what to fix; nothing after the failed batch is committed; after the fix everything is stored")
    func fatalErrorStopsCleanly() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        try faults.inject("42501", into: "events")
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 200, seed: 23)
        try kafka.produce(messages)

        let failing = RunningIngest(kafka.ingestConfiguration(database), expectFailure: true)
        #expect(failing.ended(within: 30), "ingest stops on its own")
        let failure = failing.stop()
        #expect(failure?.description.contains("privilege") == true, "\(String(describing: failure))")
        #expect(failure?.description.contains("callaudit migrate") == true)
        #expect(try consumed(database) == 0, "no position moved past the failed batch")
        #expect(try database.count("SELECT count(*) FROM dead_letters") == 0)

        try faults.clear("events")
        let fixed = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count })
        fixed.stop()
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }

    @Test("stored positions that cannot be read stop ingest with what to fix, instead of consuming from the beginning")
    func unreadablePositionsStopIngest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute("REVOKE SELECT ON kafka_offsets FROM callaudit_writer")
        let kafka = try TestKafka(partitions: 1)
        try kafka.produce(simulatedMessages(calls: 20, seed: 24))
        let ingest = RunningIngest(kafka.ingestConfiguration(database), expectFailure: true)
        #expect(ingest.ended(within: 30), "ingest stops on its own")
        let failure = ingest.stop()
        #expect(failure?.description.contains("privilege") == true, "\(String(describing: failure))")
        #expect(try database.count("SELECT count(*) FROM events") == 0, "nothing was consumed from a guessed position")
    }

    @Test("a batch rolled back after creating the staging table, then duplicates: stored as duplicates, no dead letter")
    func rollbackThenDuplicates() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        func batch(_ ids: [String]) throws -> IngestBatch {
            IngestBatch(events: try ids.map { IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: $0)), origin: nil) })
        }
        try store.append(try batch(["a"]), consumerGroup: "g")
        // The duplicate "a" sends the batch to the staging table, created inside the transaction that then fails.
        try faults.inject("40001", into: "events", eventID: "b")
        let failed = #expect(throws: PostgresError.self) { try store.append(try batch(["a", "b"]), consumerGroup: "g") }
        #expect(failed?.failureClass == .transient(reconnect: false))
        try faults.clear("events")
        let outcome = try store.append(try batch(["a", "b", "c"]), consumerGroup: "g")
        #expect(outcome == AppendOutcome(stored: 2, duplicates: 1, deadLettered: 0))

        // End to end: the same through Kafka, with the transient fault met by the batch on the staging path.
        let kafka = try TestKafka(partitions: 1)
        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        try faults.inject("40001", into: "events", for: 1.5, eventID: "e")
        try kafka.produce(["a", "d", "e"].map {
            SimulatedMessage(topic: .calls, key: "k", headers: [], value: ContractEvent.callEnded(id: $0).canonicalBytes, time: Timestamp(microseconds: 0))
        })
        #expect(try waitUntil(seconds: 60) { try consumed(database) == 3 })
        ingest.stop()
        #expect(try database.count("SELECT count(*) FROM dead_letters") == 0)
        #expect(try database.count("SELECT count(*) FROM events") == 5)
    }

    @Test("replay holds dead letters to the operator's size limit, not a default of its own")
    func replayHonoursTheOperatorsLimit() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        var big = ContractEvent.callEnded(id: "big")
        if case .object(var members) = big, case .object(var data)? = members.first(where: { $0.key == "data" })?.value {
            data.append((key: "note", value: .string(String(repeating: "x", count: 20_000))))
            members.removeAll { $0.key == "data" }
            members.append((key: "data", value: .object(data)))
            big = .object(members)
        }
        try kafka.produce([SimulatedMessage(topic: .calls, key: "k", headers: [], value: big.canonicalBytes, time: Timestamp(microseconds: 0))])
        let ingest = RunningIngest(kafka.ingestConfiguration(database, maxMessageBytes: 16_384))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == 1 })
        ingest.stop()
        let letters = try DeadLetterStore(connection: try database.owner()).list()
        #expect(letters.map(\.reason) == ["oversize"])

        let owner = try database.owner()
        let strict = try DeadLetterReplayer(
            connection: owner, decoder: EventDecoder(limits: DecodingLimits(maximumBytes: 16_384)), vault: try SubjectVault.open(keys: testKeys, on: owner)
        ).replay(letters)
        #expect(strict.replayed == 0 && strict.stillRejected.map(\.rejection.reason) == [.oversize])
        let (output, status) = try runCallAudit(["deadletters", "replay", "--database-url", database.ownerURL, "--max-message-bytes", "16384"])
        #expect(status == 0 && output.contains("replayed 0 of 1"), "\(output)")
        let raised = try runCallAudit(["deadletters", "replay", "--database-url", database.ownerURL, "--max-message-bytes", "65536"])
        #expect(raised.status == 0 && raised.output.contains("replayed 1 of 1"), "\(raised.output)")
    }
}
}
