import CallAuditDomain
import CallAuditKafka
import CallAuditProjections
import CallAuditReports
import CallAuditRuntime
import CallAuditStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DatabaseTests {
/// A leader that is frozen (SIGSTOP, a paused VM) or cut off loses its lock
/// within seconds, and once superseded commits nothing when it resumes.
@Suite("Leadership with fencing: frozen leaders, epochs")
struct LeadershipFencingTests {
    @Test("a transaction under a superseded leadership epoch is rolled back; under the current one it commits")
    func staleEpochCommitsNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let configuration = DatabaseConfiguration(url: database.serviceURL)
        let first = Leadership(name: "callaudit.ingest.fence-test", database: configuration, application: "fence-first", logger: quietLogger)
        let stale = try #require(try first.tryAcquire())
        let second = Leadership(name: "callaudit.ingest.fence-test", database: configuration, application: "fence-second", logger: quietLogger)
        #expect(try second.tryAcquire() == nil, "the lock is held")

        // The first leader's lock session dies (as the server ends a frozen one); the second takes over.
        try database.owner().query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fence-first'")
        let current = try #require(try waitUntilAcquired(second))
        #expect(current.epoch == stale.epoch + 1)

        let store = EventStore(connection: try configuration.connect())
        let point = KafkaResumePoint(topic: "calls", partition: 0, nextOffset: 42)
        #expect(throws: LeadershipLost.self) {
            try store.append(IngestBatch(resumePoints: [point]), consumerGroup: "fence-test", fence: stale)
        }
        #expect(try database.count("SELECT count(*) FROM kafka_offsets WHERE consumer_group = 'fence-test'") == 0, "the stale leader stored nothing")
        try store.append(IngestBatch(resumePoints: [point]), consumerGroup: "fence-test", fence: current)
        #expect(try database.count("SELECT max(next_offset) FROM kafka_offsets WHERE consumer_group = 'fence-test'") == 42)
        #expect(first.isHeld() == false)
        #expect(second.isHeld())
    }

    @Test("the service credential can neither write epochs nor take one without the lock, nor retire a KEK past the checks")
    func serviceCredentialCannotForgeEpochsOrRetirements() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let leader = Leadership(name: "callaudit.ingest.forge-test", database: DatabaseConfiguration(url: database.serviceURL), application: "forge", logger: quietLogger)
        let fence = try #require(try leader.tryAcquire())
        for attack in [
            "UPDATE leaderships SET epoch = 9223372036854775807",
            "UPDATE leaderships SET epoch = 1",
            "INSERT INTO leaderships (name, epoch, holder, acquired_at) VALUES ('callaudit.reports', 9223372036854775807, 'x', now())",
            "DELETE FROM leaderships",
            "INSERT INTO kek_retirements (kek_id, retired_at) VALUES ('anything', now())",
        ] {
            let refused = #expect(throws: PostgresError.self, "\(attack)") { try service.execute(attack) }
            #expect(refused?.sqlState == "42501", "\(attack): \(String(describing: refused))")
        }
        // Bumping through the owner's function needs the lock on this very session.
        let bump = #expect(throws: PostgresError.self) { try service.query("SELECT callaudit_take_leadership('callaudit.ingest.forge-test', 'thief')") }
        #expect(bump?.sqlState == "42501")
        #expect(try database.count("SELECT epoch FROM leaderships WHERE name = 'callaudit.ingest.forge-test'") == Int(fence.epoch))
        // Retiring the current KEK is refused by the owner's own checks.
        try database.owner().execute("UPDATE vault_epoch SET kek_current = 'current-kek'")
        let retire = #expect(throws: PostgresError.self) { try service.query("SELECT callaudit_record_kek_retirement('current-kek')") }
        #expect(retire?.sqlState == "55000")
        #expect(try database.count("SELECT count(*) FROM kek_retirements") == 0)
    }

    @Test("the server ends a lock session that stops talking (a frozen process) within its idle limit, freeing the lock")
    func silentLockSessionIsEnded() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        // A lock session like Leadership's, but with no heartbeat: what a SIGSTOPped process leaves behind.
        let silent = try Leadership.lockSessionConfiguration(DatabaseConfiguration(url: database.serviceURL)).connect(application: "fence-silent")
        #expect(try silent.query("SELECT pg_try_advisory_lock(hashtextextended('callaudit.reports', 0))::text").scalar == "true")
        let started = Date()
        let freed = try waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fence-silent'") == 0
        }
        let elapsed = Date().timeIntervalSince(started)
        print("a silent lock session was ended by the server after \(elapsed) s")
        #expect(freed)
        #expect(elapsed >= Leadership.idleSessionTimeout.inSeconds - 1)
    }

    @Test("two serve processes on a backlog: the ingesting one is frozen with SIGSTOP; the standby takes over within 30 s; resumed, the old leader stores nothing; 0 lost, 0 doubled")
    func frozenLeaderIsFenced() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        var sent = 0
        let backlog = simulatedMessages(calls: 4_000, seed: 61)
        try kafka.produce(backlog)
        sent += backlog.count
        let first = try ServeProcess(kafka: kafka, database: database)
        let second = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 60) { try consumed(database) > 0 })
        let owner = try database.owner()
        let leaderRow = try #require(try Leadership.current(on: owner).first { $0.name == "callaudit.ingest.test-group" })
        let (leader, standby) = leaderRow.holder.contains("pid \(first.process.processIdentifier) ")
            ? (first, second) : (second, first)
        #expect(leaderRow.holder.contains("pid \(leader.process.processIdentifier) "))

        kill(leader.process.processIdentifier, SIGSTOP)
        let frozen = Date()
        let atFreeze = try consumed(database)
        print("leader frozen after \(atFreeze) of \(sent) messages")
        // More traffic during the freeze: the new leader must store it too.
        let during = simulatedMessages(calls: 50, seed: 62)
        try kafka.produce(during)
        sent += during.count
        #expect(try waitUntil(seconds: 60) { try consumed(database) > atFreeze })
        let takeover = Date().timeIntervalSince(frozen)
        let after = try #require(try Leadership.current(on: owner).first { $0.name == "callaudit.ingest.test-group" })
        print("standby ingesting \(takeover) s after the leader was frozen (epoch \(leaderRow.epoch) -> \(after.epoch))")
        #expect(takeover <= 30, "took over \(takeover) s after the freeze")
        #expect(after.epoch > leaderRow.epoch)
        #expect(after.holder.contains("pid \(standby.process.processIdentifier) "))
        #expect(try waitUntil(seconds: 180) { try consumed(database) == sent }, "the new leader stores the whole backlog")

        // The old leader resumes with whatever it had in flight: it must step down, not write.
        kill(leader.process.processIdentifier, SIGCONT)
        #expect(waitUntil(seconds: 30) { leader.standardError.contains("no longer leads ingest") }, "\(leader.standardError.suffix(2_000))")
        let afterResume = simulatedMessages(calls: 50, seed: 63)
        try kafka.produce(afterResume)
        sent += afterResume.count
        #expect(try waitUntil(seconds: 60) { try consumed(database) == sent })
        #expect(
            try holdsThroughout(seconds: 2) {
                try Leadership.current(on: owner).first { $0.name == "callaudit.ingest.test-group" }?.epoch == after.epoch
            }, "the resumed leader did not take the lead back")
        #expect(leader.standardError.contains("no longer leads ingest"), "\(leader.standardError.suffix(2_000))")
        print("the resumed leader had a batch in flight refused by its epoch: \(leader.standardError.contains("batch refused"))")
        #expect(try database.count("SELECT count(*) FROM events") + database.count("SELECT count(*) FROM dead_letters") == sent)
        try expectOffsetsConsistent(database)
        #expect(leader.process.isRunning, "the resumed leader stands by rather than exiting")
        #expect(leader.terminate(within: 10) != nil)
        #expect(standby.terminate(within: 10) != nil)
        #expect(leader.status == 0, "\(leader.standardError.suffix(2_000))")
    }

    @Test("a projection leader superseded while its session still works commits no batch: it stands by, and takes over again only with a new epoch")
    func supersededProjectionLeaderCommitsNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let runner = ProjectionRunner(projection: DailyVolumeProjection(), databaseURL: database.serviceURL, logger: quietLogger, pollInterval: .milliseconds(100))
        Thread { runProjection(runner) }.start()
        defer { runner.requestStop() }
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        func append(_ prefix: String, _ count: Int) throws {
            try store.append(
                IngestBatch(events: (0..<count).map { IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "\(prefix)\($0)")), origin: nil) }),
                consumerGroup: "g")
        }
        try append("a", 100)
        #expect(try waitUntil(seconds: 30) { try dailyVolume(database) == 100 })

        // The leader's lock session ends (as the server ends a frozen process's), and another instance takes the lead at once,
        // before the old leader's heartbeat can notice: only the epoch stands between its open session and the projection.
        let name = ProjectionRunner.lockKey(for: "daily_volume")
        let usurper = Leadership(name: name, database: DatabaseConfiguration(url: database.serviceURL), application: "fence-usurper", logger: quietLogger)
        try database.owner().query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-projection-daily_volume-leader'")
        let taken = try #require(try waitUntilAcquired(usurper))
        try append("b", 50)
        #expect(try holdsThroughout(seconds: 3) { try dailyVolume(database) == 100 }, "the superseded leader applied nothing while another instance leads")
        #expect(try Leadership.current(on: database.owner()).first { $0.name == name }?.epoch == taken.epoch)

        // The usurper leaves: the runner takes over with a newer epoch and applies the rest exactly once.
        usurper.release()
        #expect(try waitUntil(seconds: 30) { try dailyVolume(database) == 150 })
        #expect(try Leadership.current(on: database.owner()).first { $0.name == name }!.epoch > taken.epoch)
    }

    @Test("a report scheduler superseded while its session still works stores no report; it issues them once it leads again, with a new epoch")
    func supersededSchedulerIssuesNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("fence-reports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let scheduler = ReportScheduler(
            schedule: ReportSchedule(interval: .milliseconds(200)), database: DatabaseConfiguration(url: database.serviceURL), policy: .default,
            keyDirectory: keys, logger: quietLogger)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            do { try scheduler.run() } catch { Issue.record("report scheduler failed: \(error)") }
            finished.signal()
        }.start()
        defer {
            scheduler.requestStop()
            finished.wait()
        }
        let name = "callaudit.reports"
        #expect(try waitUntil(seconds: 10) { try Leadership.current(on: database.owner()).contains { $0.name == name } }, "the scheduler leads")

        // Its lock session ends and another instance leads at once; then closed periods appear to report on.
        let usurper = Leadership(name: name, database: DatabaseConfiguration(url: database.serviceURL), application: "fence-usurper", logger: quietLogger)
        try database.owner().query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-reports-leader'")
        let taken = try #require(try waitUntilAcquired(usurper))
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        try store.append(
            IngestBatch(events: (0..<20).map { IncomingEvent(event: try EventDecoder.validate(ContractEvent.callEnded(id: "r\($0)", call: "c\($0)")), origin: nil) }),
            consumerGroup: "g")
        for projection in ProjectionCatalog.all(policy: .default) {
            try ProjectionRunner(projection: projection, databaseURL: database.serviceURL, logger: quietLogger).catchUp()
        }
        #expect(
            try holdsThroughout(seconds: 3) { try database.count("SELECT count(*) FROM audit_reports") == 0 }, "the superseded scheduler stored no report")

        usurper.release()
        #expect(try waitUntil(seconds: 60) { try database.count("SELECT count(*) FROM audit_reports") > 0 })
        #expect(try Leadership.current(on: database.owner()).first { $0.name == name }!.epoch > taken.epoch)
    }

    private func dailyVolume(_ database: TestDatabase) throws -> Int {
        try database.count("SELECT coalesce(sum(events), 0) FROM projection_daily_volume")
    }

    private func waitUntilAcquired(_ leadership: Leadership) throws -> LeadershipFence? {
        var fence: LeadershipFence?
        _ = try waitUntil(seconds: 10) {
            fence = try leadership.tryAcquire()
            return fence != nil
        }
        return fence
    }
}
}
