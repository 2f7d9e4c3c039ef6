import CallAuditDomain
import CallAuditKafka
import CallAuditProjections
import CallAuditRuntime
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// `callaudit serve` as a process: it refuses to start on what cannot work, and SIGTERM ends it in every state.
@Suite("serve: start-up and shutdown")
struct ServeLifecycleTests {
    @Test("bad configuration, unusable Kafka credentials or an unreachable cluster end start-up within 10 s, non-zero, saying what to fix")
    func badStartsExitWithAMessage() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let badPolicy = FileManager.default.temporaryDirectory.appendingPathComponent("bad-policy-\(UUID().uuidString).json")
        try #"{"policy_version": "x", "retention_days": 0}"#.write(to: badPolicy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: badPolicy) }
        let cases: [(arguments: [String], says: String)] = [
            (["--kafka-property", "no.such.property=1"], "no.such.property"),
            // A reset that skips would pass silently over a retention gap.
            (["--kafka-property", "auto.offset.reset=earliest"], "--kafka-property auto.offset.reset"),
            (["--policy", badPolicy.path], "--policy \(badPolicy.path)"),
            (["--batch-size", "0"], "--batch-size"),
            // Rejected credentials are retried for the start-up timeout (a passing identity-provider
            // hiccup must not stop start-up); 2 s keeps this case well inside 10 s on a loaded machine.
            (
                ["--kafka-property", "security.protocol=SASL_PLAINTEXT", "--kafka-property", "sasl.mechanism=PLAIN",
                 "--kafka-property", "sasl.username=ingest", "--kafka-property", "sasl.password=wrong",
                 "--kafka-startup-timeout", "2"],
                "credentials"
            ),
            (["--topic", "calls=no-such-topic"], "no-such-topic"),
            (["--http-address", "0.0.0.0:\(freePort())"], "bearer tokens would cross the network in clear"),
        ]
        for (arguments, says) in cases {
            let serve = try ServeProcess(kafka: kafka, database: database, extra: arguments)
            #expect(serve.ended(within: 10), "\(arguments) ended within 10 s")
            #expect(serve.status != 0, "\(arguments)")
            #expect(serve.standardError.contains(says), "\(arguments): \(serve.standardError)")
        }
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)").path
        // As for the credentials above: Kafka is waited for up to the start-up timeout (5 s by default),
        // and a loaded machine needs room for the rest of start-up inside the 10 s bound.
        let unreachable = try ServeProcess([
            "--database-url", database.serviceURL, "--brokers", "127.0.0.1:9", "--log-level", "critical", "--key-dir", keys,
            "--http-address", "127.0.0.1:\(freePort())", "--kafka-startup-timeout", "2",
        ])
        #expect(unreachable.ended(within: 10))
        #expect(unreachable.status != 0)
        #expect(unreachable.standardError.contains("check that Kafka runs at 127.0.0.1:9"), "\(unreachable.standardError)")
        let noDatabase = try ServeProcess([
            "--database-url", "postgresql://callaudit_service@127.0.0.1:1/nowhere", "--brokers", kafka.brokers, "--key-dir", keys,
        ])
        #expect(noDatabase.ended(within: 15))
        #expect(noDatabase.status != 0 && noDatabase.standardError.contains("--database-url"), "\(noDatabase.standardError)")
    }

    @Test("SIGTERM mid-ingest: a clean exit within 10 s, every committed batch consistent, the rest read again next time")
    func sigtermMidIngest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 16)
        let messages = simulatedMessages(calls: 6_000, seed: 31)
        try kafka.produce(messages)
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 })
        let took = serve.terminate(within: 10)
        #expect(took != nil, "ended within 10 s")
        #expect(serve.status == 0, "\(serve.standardError)")
        try expectOffsetsConsistent(database)
        let again = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 120) { try consumed(database) == messages.count })
        #expect(again.terminate(within: 10) != nil && again.status == 0)
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
    }

    @Test("SIGTERM while PostgreSQL blocks the writer on a lock: ends within 10 s; the batch is cancelled, not half-written")
    func sigtermWhileWriterBlocked() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 30) { try ingestLeads(database) }, "serve ingests: \(serve.standardError)")
        let locker = try database.owner()
        try locker.execute("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        try kafka.produce(simulatedMessages(calls: 50, seed: 32))
        #expect(
            try waitUntil(seconds: 30) {
                try database.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0
            }, "the writer waits on the lock")
        #expect(serve.terminate(within: 10) != nil, "ended within 10 s: \(serve.standardError)")
        #expect(serve.exitedByItself, "exited, not trapped: \(serve.standardError.suffix(2_000))")
        try locker.execute("ROLLBACK")
        #expect(try consumed(database) == 0, "the blocked batch was not committed")
        #expect(try database.count("SELECT count(*) FROM dead_letters") == 0)
    }

    @Test("SIGTERM while PostgreSQL refuses connections and serve keeps retrying: ends within 10 s")
    func sigtermWhileDatabaseUnreachable() throws {
        let database = try TestDatabase.create()
        defer {
            try? PostgresConnection(conninfo: TestDatabase.adminURL).execute("ALTER DATABASE \(database.name) ALLOW_CONNECTIONS true")
            database.drop()
        }
        let kafka = try TestKafka(partitions: 2)
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 30) { try ingestLeads(database) }, "serve ingests: \(serve.standardError)")
        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        try admin.execute("ALTER DATABASE \(database.name) ALLOW_CONNECTIONS false")
        try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [.text(database.name)])
        try kafka.produce(simulatedMessages(calls: 20, seed: 33))
        #expect(holdsThroughout(seconds: 2) { serve.process.isRunning }, "serve rides out the outage, retrying: \(serve.standardError)")
        #expect(serve.terminate(within: 10) != nil, "ended within 10 s")
        #expect(serve.exitedByItself, "exited, not trapped: \(serve.standardError.suffix(2_000))")
    }

    @Test("SIGTERM with every broker down: ends within 10 s")
    func sigtermWhileBrokersDown() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        try kafka.produce(simulatedMessages(calls: 100, seed: 34))
        // Sampled every 200 ms, status is nearly always waiting on Kafka when the SIGTERM comes.
        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--status-interval-ms", "200"])
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 })
        for broker in 1...kafka.cluster.brokerCount { try kafka.cluster.setBrokerDown(broker) }
        #expect(holdsThroughout(seconds: 1) { serve.process.isRunning }, "serve rides out the outage: \(serve.standardError)")
        #expect(serve.terminate(within: 10) != nil, "ended within 10 s")
        #expect(serve.status == 0, "\(serve.standardError)")
    }

    @Test("SIGTERM while its projection runners stand by behind another leader: ends within 10 s")
    func sigtermWhileStandingBy() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        // Another leader holds every projection's lock, so each of serve's runners can only stand by.
        let leader = try database.owner()
        for name in ProjectionCatalog.names {
            try leader.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [.text(ProjectionRunner.lockKey(for: name))])
        }
        let serve = try ServeProcess(kafka: kafka, database: database)
        let standingBy = """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'callaudit-projection-%-leader'
            """
        #expect(
            try waitUntil(seconds: 30) { try database.count(standingBy) == ProjectionCatalog.names.count },
            "every runner has its lock session, polling: \(serve.standardError)")
        #expect(try Leadership.current(on: database.owner()).allSatisfy { !$0.name.hasPrefix("callaudit.projection.") }, "no runner leads")
        #expect(serve.terminate(within: 10) != nil, "ended within 10 s")
        #expect(serve.status == 0, "\(serve.standardError)")
    }

    /// The KEK acknowledgement waits on a row lock (a DBA's open transaction) when ingest fails. With
    /// the blocking loops as one service, the group heard of the failure only once every loop had ended,
    /// so the API served on, and stderr said nothing, until the lock went (found by the tenth review).
    @Test("a fatal error in one loop ends serve within 20 s, non-zero, even while another loop is blocked in PostgreSQL")
    func fatalErrorWhileAnotherLoopIsBlocked() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        let kafka = try TestKafka(partitions: 2)
        try kafka.produce(simulatedMessages(calls: 20, seed: 36))
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 }, "serve ingests: \(serve.standardError)")
        let locker = try database.owner()
        try locker.execute("BEGIN; SELECT 1 FROM kek_acknowledgements FOR UPDATE")
        defer { try? locker.execute("ROLLBACK") }
        let kekWaits = """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'callaudit-kek' AND wait_event_type = 'Lock'
            """
        #expect(try waitUntil(seconds: 20) { try database.count(kekWaits) > 0 }, "the KEK acknowledgement waits on the row lock")
        try faults.inject("42501", into: "events")
        try kafka.produce(simulatedMessages(calls: 20, seed: 37))
        #expect(serve.ended(within: 20), "serve ended within 20 s of the fatal error, the lock still held: \(serve.standardError)")
        try locker.execute("ROLLBACK")
        #expect(serve.status != 0)
        #expect(serve.standardError.contains("callaudit migrate"), "\(serve.standardError)")
    }

    /// "A stopped instance wraps nothing" (`KEKAcknowledger`): its acknowledgement is withdrawn only once
    /// ingest's batch in flight, sealed under the KEK, has ended.
    @Test("SIGTERM: the KEK acknowledgement is withdrawn only after ingest's batch in flight has ended")
    func kekAcknowledgementOutlivesIngest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 30) { try ingestLeads(database) }, "serve ingests: \(serve.standardError)")
        #expect(try waitUntil(seconds: 10) { try database.count("SELECT count(*) FROM kek_acknowledgements") > 0 }, "acknowledged")
        let locker = try database.owner()
        try locker.execute("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        defer { try? locker.execute("ROLLBACK") }
        try kafka.produce(simulatedMessages(calls: 50, seed: 38))
        let writerWaits = """
            SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND application_name LIKE 'callaudit-ingest%'
            """
        #expect(try waitUntil(seconds: 30) { try database.count(writerWaits) > 0 }, "the writer waits on the lock")
        serve.process.terminate()
        var withdrawnWhileInFlight = false
        let deadline = Date().addingTimeInterval(4)
        while Date() < deadline, serve.process.isRunning {
            if try database.count("SELECT count(*) FROM kek_acknowledgements") == 0, try database.count(writerWaits) > 0 {
                withdrawnWhileInFlight = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(!withdrawnWhileInFlight, "the acknowledgement was withdrawn while ingest's batch was still waiting to commit")
        try locker.execute("ROLLBACK")
        #expect(serve.ended(within: 15))
    }

    @Test("a fatal error in one service stops the whole process, non-zero, with its message")
    func fatalErrorStopsTheProcess() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let faults = FaultInjector(database: database)
        try faults.arm("events")
        try faults.inject("42501", into: "events")
        let kafka = try TestKafka(partitions: 2)
        try kafka.produce(simulatedMessages(calls: 20, seed: 35))
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(serve.ended(within: 20))
        #expect(serve.status != 0)
        #expect(serve.standardError.contains("callaudit migrate"), "\(serve.standardError)")
        #expect(try consumed(database) == 0)
    }
}
}

/// Whether a serve process leads ingest on `database` (its leadership row is taken).
private func ingestLeads(_ database: TestDatabase) throws -> Bool {
    try Leadership.current(on: database.owner()).contains { $0.name == "callaudit.ingest.test-group" }
}
