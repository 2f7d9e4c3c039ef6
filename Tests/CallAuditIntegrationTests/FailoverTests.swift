import CallAuditDomain
import CallAuditStore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension OwnClusterTests {
@Suite("Failover onto a streaming standby")
struct FailoverTests {
    @Test("primary killed mid-ingest, standby promoted: ingest resumes through the multi-host URL, nothing lost or doubled; every acknowledged request, erasure, report and report read survives; none was acknowledged while the standby could not confirm it; the seal chain goes on")
    func survivesFailover() throws {
        let pair = try StreamingPair()
        defer { pair.stop() }
        let primary = try Self.prepareStore(on: pair)
        var tokens: [String: String] = [:]
        for role in ["dpo", "auditor"] {
            tokens[role] = try runCallAudit(["tokens", "create", "--role", role, "--name", "\(role)-1", "--database-url", primary.ownerURL])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        let kafka = try TestKafka(partitions: 4)
        let messages = simulatedMessages(calls: 12_000, seed: 23)
        let third = messages.count / 3
        try kafka.produce(Array(messages[..<third]))
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let port = freePort()
        let serve = try ServeProcess([
            "--database-url", pair.multiHostURL(user: "callaudit_service", database: "callaudit"),
            "--brokers", kafka.brokers, "--group", "test-group", "--batch-size", "2000", "--batch-delay-ms", "20",
            "--log-level", "warning", "--key-dir", keys.path, "--http-address", "127.0.0.1:\(port)", "--seal-interval", "1",
        ])
        let client = DPOAndAuditor(base: "http://127.0.0.1:\(port)", dpo: tokens["dpo"]!, auditor: tokens["auditor"]!)
        guard waitUntil(seconds: 60, { client.call("GET", "/healthz")?.status == 200 }) else {
            throw TestFailure("serve did not come up: \(serve.standardError)")
        }
        client.start()
        defer { client.stop() }
        #expect(
            try waitUntil(seconds: 120) {
                try consumed(primary) > 0 && client.log.withLock { $0.erased.count >= 2 && $0.reads.count >= 2 && $0.lastSeal != nil }
            }, "ingest, the DPO and the auditor all get going: \(serve.standardError)")

        // The primary stops sending WAL (its WAL sender stopped): the standby confirms nothing
        // more, so CallAudit's own commits wait while ingest's go on; whatever the primary commits
        // from now on, the standby never gets.
        try kafka.produce(Array(messages[third...]))
        let sender = try pair.walSenderPID()
        kill(sender, SIGSTOP)
        let stoppedAt = Date()
        let beforeStop = try consumed(primary)
        // The window lasts until both sides of it show: ingest commits past the stop, and a write of CallAudit's own waits for the standby.
        let primaryAdmin = try PostgresConnection(conninfo: pair.adminURL(pair.primaryPort))
        _ = try waitUntil(seconds: 30) {
            try consumed(primary) > beforeStop
                && primaryAdmin.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'").scalar != "0"
        }
        let beforeKill = try consumed(primary)
        let waits = try PostgresConnection(conninfo: pair.adminURL(pair.primaryPort)).query(
            """
            SELECT application_name || ' ' || coalesce(wait_event_type, '-') || '/' || coalesce(wait_event, '-') || ' ' || state
            FROM pg_stat_activity WHERE application_name LIKE 'callaudit%' ORDER BY 1
            """
        ).rows.map { $0[0] ?? "" }
        #expect(beforeKill > beforeStop, "ingest went on without the standby (\(beforeStop) → \(beforeKill)); sessions: \(waits)")
        #expect(beforeKill < messages.count, "killed mid-ingest")

        try pair.killPrimary()
        let killedAt = Date()
        try pair.promoteStandby()
        let promotedAt = Date()
        let standby = TestDatabase(name: "callaudit", serverURL: pair.adminURL(pair.standbyPort))
        let atPromotion = try consumed(standby)
        #expect(try waitUntil(seconds: 60) { try consumed(standby) > atPromotion }, "ingest resumed: \(serve.standardError)")
        let resumedAt = Date()
        print(
            """
            failover: ingest resumed \(String(format: "%.1f", resumedAt.timeIntervalSince(promotedAt))) s after the promotion, \
            \(String(format: "%.1f", resumedAt.timeIntervalSince(killedAt))) s after the kill; \
            \(beforeKill - atPromotion) positions the standby never had were read again \
            (\(beforeStop) stored when the WAL sender stopped, \(beforeKill) at the kill, of \(messages.count))
            """)
        #expect(atPromotion < beforeKill, "the failover lost committed batches, which ingest must read again")
        #expect(resumedAt.timeIntervalSince(promotedAt) < 15, "the documented bound: ingest resumes within 15 s of the promotion")
        #expect(try waitUntil(seconds: 300) { try consumed(standby) == messages.count }, "the whole backlog: \(serve.standardError)")
        #expect(
            waitUntil(seconds: 60) { client.log.withLock { $0.acknowledgedSince(promotedAt) } },
            "the API writes again on the new primary")
        client.stop()
        #expect(serve.process.isRunning, "serve rode out the failover: \(serve.standardError)")

        // Nothing lost, nothing doubled.
        #expect(try standby.count("SELECT count(*) FROM events WHERE kafka_topic IS NOT NULL") == messages.count)
        #expect(try standby.count("SELECT count(DISTINCT (source, event_id)) FROM events WHERE kafka_topic IS NOT NULL") == messages.count)
        try expectOffsetsConsistent(standby)

        let log = client.log.withLock { $0 }
        #expect(
            log.writesBetween(stoppedAt, killedAt).isEmpty,
            "acknowledged while the standby could not confirm them: \(log.writesBetween(stoppedAt, killedAt))")
        try expectAcknowledgedSurvived(log, on: standby, client: client)
        let chain = try runCallAudit(["verify-store", "--database-url", standby.ownerURL, "--key-dir", keys.path])
        #expect(chain.status == 0, "verify-store on the promoted standby: \(chain.output)")
        #expect(serve.terminate(within: 10) != nil && serve.status == 0, "\(serve.standardError)")
    }

    @Test("while the standby confirms nothing: a commit whose wait is cancelled is not acknowledged (the command fails although PostgreSQL kept it on the primary), and serve still stops within 10 s with a DPO request waiting")
    func cancelledStandbyWaitIsNotAcknowledged() throws {
        let pair = try StreamingPair(offset: 1)
        defer { pair.stop() }
        let store = try Self.prepareStore(on: pair)
        let dpo = try runCallAudit(["tokens", "create", "--role", "dpo", "--name", "dpo-1", "--database-url", store.ownerURL])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let kafka = try TestKafka(partitions: 1)
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let port = freePort()
        let serve = try ServeProcess([
            "--database-url", pair.multiHostURL(user: "callaudit_service", database: "callaudit"), "--brokers", kafka.brokers,
            "--log-level", "warning", "--key-dir", keys.path, "--http-address", "127.0.0.1:\(port)",
        ])
        let client = DPOAndAuditor(base: "http://127.0.0.1:\(port)", dpo: dpo, auditor: "")
        guard waitUntil(seconds: 60, { client.call("GET", "/healthz")?.status == 200 }) else {
            throw TestFailure("serve did not come up: \(serve.standardError)")
        }

        let sender = try pair.walSenderPID()
        kill(sender, SIGSTOP)
        defer { kill(sender, SIGCONT) }
        // statement_timeout does not end this wait (PostgreSQL disarms it before the commit);
        // a cancel does (an operator's pg_cancel_backend, or serve's own at shutdown).
        let adminURL = pair.adminURL(pair.primaryPort)
        let canceller = Thread {
            guard let admin = try? PostgresConnection(conninfo: adminURL) else { return }
            _ = waitUntil(seconds: 30) {
                (try? admin.query(
                    "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name = 'callaudit'"
                ).scalar) == "1"
            }
        }
        canceller.start()
        let run = try runCallAudit(["tokens", "create", "--role", "dpo", "--name", "unconfirmed", "--database-url", store.ownerURL])
        #expect(run.status != 0, "no token is printed as created while only the primary has it: \(run.output)")
        #expect(run.output.isEmpty)
        #expect(try store.count("SELECT count(*) FROM api_tokens WHERE name = 'unconfirmed'") == 1, "PostgreSQL kept it on the primary, as it warns")

        // A DPO request waits for the standby; SIGTERM must not wait for it.
        let answered = Atomic<Int>(0)
        Thread {
            let reply = client.call(
                "POST", "/v1/requests", token: dpo, body: #"{"type":"erasure","regime":"gdpr","subject":{"phone":"+4930555999"},"verified_by":"call-back"}"#)
            answered.store(reply?.status ?? -1, ordering: .relaxed)
        }.start()
        #expect(
            try waitUntil(seconds: 20) {
                try PostgresConnection(conninfo: adminURL).query("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'").scalar == "1"
            }, "the DPO's request waits for the standby")
        let stopped = serve.terminate(within: 15)
        #expect(stopped != nil && stopped! <= 10, "serve stopped in \(stopped.map { String(format: "%.1f", $0) } ?? "more than 15") s: \(serve.standardError)")
        #expect(answered.load(ordering: .relaxed) != 201, "the request was not acknowledged")
    }

    /// The database, the service role, the schema: made on the primary as an operator would.
    private static func prepareStore(on pair: StreamingPair) throws -> TestDatabase {
        let admin = try PostgresConnection(conninfo: pair.adminURL(pair.primaryPort))
        try admin.execute("CREATE DATABASE callaudit")
        let store = TestDatabase(name: "callaudit", serverURL: pair.adminURL(pair.primaryPort))
        try Migrator(connection: store.owner(), migrations: Migration.bundled()).migrate(logger: quietLogger)
        try admin.execute("CREATE ROLE callaudit_service LOGIN IN ROLE callaudit_writer")
        return store
    }

    /// Every acknowledged request, erasure, report, report read and seal is on the promoted standby, as acknowledged.
    private func expectAcknowledgedSurvived(_ log: DPOAndAuditor.Log, on store: TestDatabase, client: DPOAndAuditor) throws {
        #expect(!log.opened.isEmpty && !log.erased.isEmpty && !log.reports.isEmpty && !log.reads.isEmpty)
        var reads: [String: Int] = [:]
        for row in try store.owner().query(
            "SELECT event->'data'->>'report_id', count(*) FROM events WHERE type = 'audit.report_read' GROUP BY 1"
        ).rows {
            reads[row[0]!] = Int(row[1]!)!
        }
        for (report, count) in Dictionary(grouping: log.reads.map(\.id), by: { $0 }).mapValues(\.count) {
            #expect((reads[report] ?? 0) >= count, "report \(report): \(count) reads acknowledged, \(reads[report] ?? 0) recorded")
        }
        // Read from the store, not the API: a few hundred checks would run into the API's rate limit.
        func ids(_ sql: String) throws -> Set<String> { Set(try store.owner().query(sql).rows.compactMap { $0[0] }) }
        let reports = try ids("SELECT report_id FROM audit_reports")
        let opened = try ids("SELECT event->'data'->>'request_id' FROM events WHERE type = 'subject.request_opened'")
        let erased = try ids("SELECT event->'data'->>'request_id' FROM events WHERE type = 'subject.erased'")
        #expect(Set(log.reports.map(\.id)).subtracting(reports).isEmpty, "reports lost: \(Set(log.reports.map(\.id)).subtracting(reports))")
        #expect(Set(log.opened.map(\.id)).subtracting(opened).isEmpty, "requests lost: \(Set(log.opened.map(\.id)).subtracting(opened))")
        #expect(Set(log.erased.map(\.id)).subtracting(erased).isEmpty, "erasures lost: \(Set(log.erased.map(\.id)).subtracting(erased))")
        let seal = try #require(log.lastSeal)
        let number = Int(seal["seal"]?.numberValue ?? 0)
        #expect(client.call("GET", "/v1/seals/\(number)", token: client.auditor)?.json == seal, "seal \(number) as the auditor saw it")
        #expect(
            waitUntil(seconds: 60) {
                Int(client.call("GET", "/v1/seals?after=\(number)&limit=1", token: client.auditor)?.json?["seals"]?.arrayValue?.first?["seal"]?.numberValue ?? 0)
                    > number
            }, "sealing goes on after the failover")
    }
}
}

/// A DPO opening and erasing requests and an auditor generating and reading
/// reports and fetching seals, each on a thread of its own, against `serve`'s
/// API, noting what was acknowledged and when it was asked.
final class DPOAndAuditor: @unchecked Sendable {
    struct Acknowledged: Sendable, CustomStringConvertible {
        var id: String
        var asked: Date
        var description: String { "\(id) asked at \(asked)" }
    }

    struct Log: Sendable {
        var opened: [Acknowledged] = []
        var erased: [Acknowledged] = []
        var reports: [Acknowledged] = []
        var reads: [Acknowledged] = []
        var lastSeal: JSONValue?

        /// Writes asked for in the window and acknowledged.
        func writesBetween(_ start: Date, _ end: Date) -> [Acknowledged] {
            (opened + erased + reports + reads).filter { $0.asked >= start && $0.asked < end }
        }

        func acknowledgedSince(_ date: Date) -> Bool {
            opened.contains { $0.asked >= date } && reads.contains { $0.asked >= date }
        }
    }

    let base: String
    let dpo: String
    let auditor: String
    let log = Mutex(Log())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()

    init(base: String, dpo: String, auditor: String) {
        self.base = base
        self.dpo = dpo
        self.auditor = auditor
    }

    func call(_ method: String, _ path: String, token: String? = nil, body: String? = nil) -> RunningAPI.Reply? {
        try? RunningAPI.httpRequest(base: base, method, path, token: token, body: body.map { Array($0.utf8) }, timeout: 20)
    }

    func start() {
        finished.enter()
        Thread { [self] in
            runDPO()
            finished.leave()
        }.start()
        finished.enter()
        Thread { [self] in
            runAuditor()
            finished.leave()
        }.start()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    private var running: Bool { !stopping.load(ordering: .relaxed) }

    private func runDPO() {
        var number = 0
        while running {
            number += 1
            let asked = Date()
            let body = #"{"type":"erasure","regime":"gdpr","subject":{"phone":"+49305550\#(1_000 + number)"},"verified_by":"call-back"}"#
            guard let opened = call("POST", "/v1/requests", token: dpo, body: body), opened.status == 201,
                let id = opened.json?["request_id"]?.stringValue
            else {
                Thread.sleep(forTimeInterval: 0.2)
                continue
            }
            log.withLock { $0.opened.append(Acknowledged(id: id, asked: asked)) }
            let erasing = Date()
            if call("POST", "/v1/requests/\(id)/erase", token: dpo)?.status == 200 {
                log.withLock { $0.erased.append(Acknowledged(id: id, asked: erasing)) }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    private func runAuditor() {
        var day = 0
        while running {
            day = day % 28 + 1
            let asked = Date()
            let range = String(format: #"{"from":"2026-10-%02d","to":"2026-10-%02d"}"#, day, day + 1)
            if let made = call("POST", "/v1/reports", token: auditor, body: range), made.status == 201,
                let id = made.json?["report_id"]?.stringValue
            {
                log.withLock { $0.reports.append(Acknowledged(id: id, asked: asked)) }
                let reading = Date()
                if call("GET", "/v1/reports/\(id)", token: auditor)?.status == 200 {
                    log.withLock { $0.reads.append(Acknowledged(id: id, asked: reading)) }
                }
            }
            let after = log.withLock { Int($0.lastSeal?["seal"]?.numberValue ?? 0) }
            if let seal = call("GET", "/v1/seals?after=\(after)&limit=1000", token: auditor)?.json?["seals"]?.arrayValue?.last {
                log.withLock { $0.lastSeal = seal }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
