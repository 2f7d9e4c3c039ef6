import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DatabaseTests {
/// Real PostgreSQL (started by ops/test) and librdkafka's mock cluster.
@Suite("Ingest against PostgreSQL and Kafka")
struct IngestTests {
    @Test("UPDATE, DELETE and TRUNCATE on events fail in the database, for the service role and for the owner; the service cannot forge a transaction id")
    func eventsAreAppendOnly() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let event = try EventDecoder.validate(ContractEvent.callEnded(id: "e-1"))
        let service = try PostgresConnection(conninfo: database.serviceURL)
        try EventStore(connection: service).append(IngestBatch(events: [IncomingEvent(event: event, origin: nil)]), consumerGroup: "g")
        for statement in ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"] {
            for connection in [service, try database.owner()] {
                let error = #expect(throws: PostgresError.self) { try connection.execute(statement) }
                #expect(error?.sqlState == "42501", "\(statement): \(String(describing: error))")
            }
        }
        let forged = #expect(throws: PostgresError.self, "the service cannot choose an event's transaction id") {
            try insertEvent("forged", on: service, transactionID: 1)
        }
        #expect(forged?.sqlState == "42501")
        let stored = try database.owner().query("SELECT type, encode(content_hash, 'hex') FROM events")
        #expect(stored.rows == [["call.ended", event.contentHash.hexString]])
        let hashHolds = try database.owner().query("SELECT bool_and(sha256(convert_to(event::text, 'UTF8')) = content_hash) FROM events")
        #expect(hashHolds.scalar == "t", "the content hash is recomputable from the stored event")
    }

    @Test("redelivered and republished events are stored once")
    func duplicatesStoredOnce() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 40)
        let republished = messages.prefix(60).map { message in
            // The same event again, half of them in the other CloudEvents mode.
            var copy = message
            if copy.headers.contains(where: { $0.key == "ce_id" }), let document = try? JSONParser.parse(structuredForm(of: message)) {
                copy = SimulatedMessage(topic: message.topic, key: message.key, headers: [], value: document.canonicalBytes, time: message.time)
            }
            return copy
        }
        try kafka.produce(messages + republished)
        let total = messages.count + republished.count

        let first = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == total })
        first.stop()
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        #expect(first.statistics.duplicates.load(ordering: .relaxed) == republished.count)

        // Redelivery: the group forgets its positions and reads everything again.
        try database.owner().execute("UPDATE kafka_offsets SET next_offset = 0")
        let second = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == total })
        second.stop()
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        #expect(second.statistics.stored.load(ordering: .relaxed) == 0)
        #expect(second.statistics.duplicates.load(ordering: .relaxed) == total)
    }

    @Test("1,000 malformed messages of every kind among good ones: every good one stored, every bad one dead-lettered verbatim, replay stores what now passes")
    func malformedMessagesAreDeadLettered() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka()
        var simulation = SimulationConfiguration()
        simulation.calls = 1_000
        simulation.malformedRate = 1
        simulation.oversizeBytes = 20_000
        var messages: [SimulatedMessage] = []
        TrafficSimulator(configuration: simulation).generate { messages.append($0) }
        let bad = messages.filter { $0.expectedRejection != nil }
        #expect(bad.count == 1_000)
        #expect(Set(bad.compactMap(\.expectedRejection)).count == 6)
        try kafka.produce(messages)

        let ingest = RunningIngest(kafka.ingestConfiguration(database, maxMessageBytes: 16_384))
        #expect(try waitUntil(seconds: 120) { try consumed(database) == messages.count })
        ingest.stop()
        #expect(try database.count("SELECT count(*) FROM events") == messages.count - bad.count)
        for reason in Set(bad.compactMap(\.expectedRejection)) {
            let expected = bad.filter { $0.expectedRejection == reason }.count
            #expect(try database.count("SELECT count(*) FROM dead_letters WHERE reason = '\(reason.rawValue)'") == expected, "\(reason)")
        }
        try expectOffsetsConsistent(database)
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: owner)
        let letters = try DeadLetterStore(connection: owner).list(limit: 2_000)
        let sent = Set(bad.map(\.value))
        #expect(letters.allSatisfy { $0.sealed != nil && $0.value == nil }, "dead letters are stored sealed")
        let opened = try letters.map { try vault.openDeadLetter($0)! }
        #expect(opened.allSatisfy { sent.contains($0.value ?? []) }, "a sealed dead letter opens to the message verbatim")

        // The limit was the problem for the oversize ones: replay with the default limit stores them.
        let outcome = try DeadLetterReplayer(connection: owner, vault: vault).replay(letters)
        let oversize = bad.filter { $0.expectedRejection == .oversize }.count
        #expect(outcome.replayed == oversize)
        #expect(outcome.stillRejected.count == bad.count - oversize)
        #expect(try database.count("SELECT count(*) FROM events") == messages.count - bad.count + oversize)
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE status = 'replayed' AND replayed_position IS NOT NULL") == oversize)
    }

    @Test("exactly once while the consumer process is killed with SIGKILL at random moments: 100,000 events stored once, positions consistent")
    func exactlyOnceUnderSIGKILL() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 16)
        let messages = simulatedMessages(calls: 16_500, seed: 99)
        #expect(messages.count >= 100_000)
        try kafka.produce(messages)

        var kills = 0
        var killedAt: [Int] = []
        while kills < 4 {
            let serve = try ServeProcess(kafka: kafka, database: database)
            let process = serve.process
            let before = try consumed(database)
            // Kill at a random moment once this process has made some progress.
            _ = try waitUntil(seconds: 60) { try consumed(database) > before }
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...1.5))
            let progress = try consumed(database)
            guard progress < messages.count else { process.terminate(); process.waitUntilExit(); break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            killedAt.append(progress)
            kills += 1
        }
        let last = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 180) { try consumed(database) == messages.count })
        #expect(last.terminate(within: 10) != nil)
        #expect(last.status == 0, "SIGTERM is a clean shutdown: \(last.standardError)")

        #expect(kills >= 3, "killed mid-ingest at \(killedAt)")
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        #expect(try database.count("SELECT count(DISTINCT (source, event_id)) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }

    @Test("every broker down and up again: ingest resumes, nothing lost")
    func survivesBrokerOutage() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 4_000, seed: 12)
        try kafka.produce(Array(messages.prefix(messages.count / 2)))
        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count / 2 })
        for broker in 1...kafka.cluster.brokerCount { try kafka.cluster.setBrokerDown(broker) }
        // A three-second outage, watched: nothing moves while every broker is down.
        #expect(try holdsThroughout(seconds: 3) { try consumed(database) == messages.count / 2 })
        for broker in 1...kafka.cluster.brokerCount { try kafka.cluster.setBrokerUp(broker) }
        try kafka.produce(Array(messages.suffix(from: messages.count / 2)))
        #expect(try waitUntil(seconds: 120) { try consumed(database) == messages.count })
        ingest.stop()
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }

    @Test("two consumers in one group share the partitions; rebalances lose and duplicate nothing")
    func twoConsumersRebalance() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 6_000, seed: 13)
        // Produce while the group changes: a third now, the rest during the rebalances.
        let thirds = messages.count / 3
        try kafka.produce(Array(messages.prefix(thirds)))
        var configuration = kafka.ingestConfiguration(database)
        configuration.membership = .group
        let a = RunningIngest(configuration)
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 })
        let b = RunningIngest(configuration)
        try kafka.produce(Array(messages[thirds..<2 * thirds]))
        #expect(try waitUntil(seconds: 60) { b.statistics.stored.load(ordering: .relaxed) > 0 }, "the second consumer got partitions")
        a.stop()
        try kafka.produce(Array(messages.suffix(from: 2 * thirds)))
        #expect(try waitUntil(seconds: 120) { try consumed(database) == messages.count })
        b.stop()
        let storedByA = a.statistics.stored.load(ordering: .relaxed)
        let storedByB = b.statistics.stored.load(ordering: .relaxed)
        #expect(storedByA > 0 && storedByB > 0)
        #expect(storedByA + storedByB == messages.count)
        #expect(a.statistics.duplicates.load(ordering: .relaxed) + b.statistics.duplicates.load(ordering: .relaxed) == 0,
                "no message was processed twice across the rebalances")
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }
}
}

extension OwnClusterTests {
/// Ingest while its PostgreSQL restarts under it.
@Suite("Ingest across a PostgreSQL restart")
struct IngestRestartTests {
    @Test("PostgreSQL restarted mid-ingest: the consumer retries with backoff and resumes, nothing lost")
    func survivesPostgresRestart() throws {
        // A cluster of the test's own: restarting the dev cluster would cut every other test's sessions.
        let cluster = try FreshCluster(offset: 1)
        defer { cluster.stop() }
        let database = try TestDatabase.create(on: cluster.adminURL)
        defer { database.drop() }
        let kafka = try TestKafka()
        let messages = simulatedMessages(calls: 5_000, seed: 11)
        try kafka.produce(messages)
        let ingest = RunningIngest(kafka.ingestConfiguration(database))
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 })
        #expect(cluster.restart())
        #expect(try waitUntil(seconds: 120) { (try? consumed(database)) == messages.count })
        ingest.stop()
        #expect(ingest.statistics.retries.load(ordering: .relaxed) > 0, "the restart was noticed")
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
    }
}
}
