import CallAuditDomain
import CallAuditIngest
import CallAuditIntegrity
import CallAuditProjections
import CallAuditSigning
import CallAuditSimulator
import CallAuditStore
import Foundation
import Testing

/// The shell blocks of ops/runbooks/restore-and-verify.md, by the name in the
/// `<!-- restore:NAME -->` comment before each: the test runs what operators read.
private func runbookBlocks() throws -> [String: String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("ops/runbooks/restore-and-verify.md"), encoding: .utf8)
    var blocks: [String: String] = [:]
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let line = lines.popFirst() {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<!-- restore:"), trimmed.hasSuffix("-->") else { continue }
        let name = String(trimmed.dropFirst("<!-- restore:".count).dropLast("-->".count)).trimmingCharacters(in: .whitespaces)
        guard let fence = lines.popFirst(), fence.trimmingCharacters(in: .whitespaces) == "```sh" else { continue }
        let indent = fence.prefix { $0 == " " }.count
        var body: [String] = []
        while let next = lines.popFirst(), next.trimmingCharacters(in: .whitespaces) != "```" {
            body.append(String(next.dropFirst(min(indent, next.prefix { $0 == " " }.count))))
        }
        blocks[name] = body.joined(separator: "\n")
    }
    return blocks
}

/// A call recorded in Germany (every party must consent) without anyone's consent: two events, one CONSENT_MISSING.
private func callWithoutConsent(_ n: Int, prefix: String, at time: Timestamp) throws -> [IncomingEvent] {
    let callID = "\(prefix)-call-\(n)"
    return [
        try contractEvent("\(callID)-start", .callStarted, at: time.rfc3339, [
            "call_id": .string(callID), "direction": "inbound", "channel": "phone", "parties": [
                ["party_id": "agent", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": .string("E\(n)")]],
                ["party_id": "customer", "role": "customer", "jurisdiction": "DE", "subject": ["phone": .string("+4930\(100_000 + n)")]],
            ]]),
        try contractEvent("\(callID)-rec", .recordingStarted, at: time.adding(seconds: 5).rfc3339, [
            "call_id": .string(callID), "recording_id": .string("\(callID)-r"),
        ]),
    ]
}

extension OwnClusterTests {
@Suite("Restore onto another cluster")
struct RestoreTests {
    @Test("""
        a sealed, projected store dumped and restored onto a fresh cluster as the runbook says works: \
        the restore reports no error, serve refuses until migrate moves the log's clock on, then calls without \
        consent become findings, new events are sealed, verify-store and the kept head pass, and status shows the waiting work
        """)
    func restoreOntoFreshCluster() throws {
        let blocks = try runbookBlocks()
        for name in ["backup", "roles", "database", "migrate", "verify"] { try #require(blocks[name] != nil, "runbook block \(name)") }

        // The old cluster: a sealed and projected store whose transaction ids are far ahead of a fresh cluster's.
        // A cluster of its own: on the dev cluster, the tests running alongside would hold back its horizon, and
        // the seal of the events appended after the backup.
        let sourceCluster = try FreshCluster(offset: 2)
        defer { sourceCluster.stop() }
        let source = try TestDatabase.create(on: sourceCluster.adminURL)
        defer { source.drop() }
        try source.owner().execute("DO $$ BEGIN WHILE pg_current_xact_id()::text::bigint < 30000 LOOP COMMIT; END LOOP; END $$")
        let keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keyDirectory) }
        let keys = try KeyRing.open(keyDirectory)
        let service = try PostgresConnection(conninfo: source.serviceURL)
        let traffic = simulatedEvents(calls: 1_200, seed: 23)
        for chunk in stride(from: 0, to: traffic.count, by: 500) {
            try EventStore(connection: service).append(IngestBatch(events: Array(traffic[chunk..<min(chunk + 500, traffic.count)])), consumerGroup: "test")
        }
        for projection in ProjectionCatalog.all(policy: .default) {
            _ = try ProjectionRunner(projection: projection, databaseURL: source.serviceURL, logger: quietLogger).catchUp()
        }
        try Sealer(connection: service, schedule: SealSchedule(maxEvents: 2_000)).sealDue(key: keys.current, force: true)
        let restoredEvents = try source.count("SELECT count(*) FROM events")
        let restoredSeals = try source.count("SELECT count(*) FROM seals")
        #expect(restoredEvents == traffic.count && restoredEvents > 5_000)
        #expect(try LogClock.shift(on: source.owner()) == 0, "a store that was never restored keeps the cluster's own ids")

        let cluster = try FreshCluster(offset: 1)
        defer { cluster.stop() }
        let work = URL(fileURLWithPath: cluster.folder)
        let ownerURL = "postgresql://callaudit_owner@127.0.0.1:\(cluster.port)/callaudit"
        let serviceURL = "postgresql://callaudit_service@127.0.0.1:\(cluster.port)/callaudit"
        let variables = [
            "SOURCE_URL": source.ownerURL, "ADMIN_URL": cluster.adminURL, "OWNER_URL": ownerURL, "KEY_DIR": keyDirectory.path,
            "DUMP": work.appendingPathComponent("callaudit.dump").path, "KEPT_HEAD": work.appendingPathComponent("kept-head.json").path,
            "PATH": "\(FreshCluster.bin):\(URL(fileURLWithPath: callauditBinary).deletingLastPathComponent().path):\(environment["PATH"] ?? "/usr/bin:/bin")",
            "CALLAUDIT_KEK": testKEK,
        ]
        func run(_ block: String) throws -> (output: String, status: Int32, seconds: Double) {
            let started = Date()
            let result = try runScript(blocks[block]!, environment: variables)
            return (result.output, result.status, Date().timeIntervalSince(started))
        }

        let backup = try run("backup")
        try #require(backup.status == 0, "\(backup.output)")
        // The old store goes on after the backup: a head kept then is past the end of the backup.
        try EventStore(connection: service).append(
            IngestBatch(events: try callWithoutConsent(0, prefix: "late", at: .now.adding(seconds: -600))), consumerGroup: "test")
        try Sealer(connection: service, schedule: SealSchedule()).sealDue(key: keys.current, force: true)
        let later = work.appendingPathComponent("later-head.json")
        try runCallAudit(["seals", "head", "--database-url", source.ownerURL]).output.write(to: later, atomically: true, encoding: .utf8)
        let sourceTop = try #require(UInt64(try source.owner().query("SELECT max(transaction_id::text::bigint) FROM events").scalar ?? ""))
        #expect(try cluster.nextTransactionID() < sourceTop, "the fault needs a cluster whose ids are behind the log's")

        // Roles first, then a restore that stops at the first error: it must report none.
        let roles = try run("roles")
        try #require(roles.status == 0, "\(roles.output)")
        let restore = try run("database")
        try #require(restore.status == 0, "pg_restore: \(restore.output)")
        #expect(!restore.output.contains("error"), "\(restore.output)")

        // Restored, not yet migrated: the log's ids are ahead of this cluster's, and everything says so.
        #expect(try LogClock.behind(on: PostgresConnection(conninfo: ownerURL)) != nil)
        let early = try ServeProcess([
            "--database-url", serviceURL, "--brokers", "127.0.0.1:1", "--key-dir", keyDirectory.path, "--http-address", "127.0.0.1:\(freePort())",
        ])
        #expect(early.ended(within: 30) && early.status != 0, "serve refuses a store whose clock is behind")
        #expect(early.standardError.contains("callaudit migrate"), "\(early.standardError)")
        let unchecked = try runCallAudit(["verify-store", "--database-url", ownerURL, "--key-dir", keyDirectory.path])
        #expect(unchecked.status == 2 && unchecked.output.contains("NOT CHECKED"), "\(unchecked.output)")
        #expect(try runCallAudit(["projections", "status", "--database-url", ownerURL]).output.contains("WARNING: the log holds transaction id"))

        let missing = try runCallAudit(["seals", "head", "--check", later.path, "--database-url", ownerURL, "--key-dir", keyDirectory.path])
        #expect(missing.status == 1 && missing.output.hasPrefix("MISSING"), "a head kept after the backup: \(missing.output)")

        let migrate = try run("migrate")
        try #require(migrate.status == 0, "\(migrate.output)")
        #expect(migrate.output.contains("log clock:"), "\(migrate.output)")
        let owner = try PostgresConnection(conninfo: ownerURL)
        #expect(try LogClock.behind(on: owner) == nil)
        let shift = try LogClock.shift(on: owner)
        #expect(try run("migrate").status == 0 && LogClock.shift(on: owner) == shift, "a second migrate leaves the clock where it is")
        let verifyBefore = try run("verify")
        #expect(verifyBefore.status == 0, "\(verifyBefore.output)")
        #expect(verifyBefore.output.contains("intact") && verifyBefore.output.contains("is in the database unchanged"), "\(verifyBefore.output)")

        // Calls recorded without consent after the restore: first appended as ingest appends them,
        // with no projection running. Status must show them waiting, not "0 behind".
        let now = Timestamp.now.adding(seconds: -600)
        let appended = try (0..<20).flatMap { try callWithoutConsent($0, prefix: "restored-a", at: now) }
        try EventStore(connection: try PostgresConnection(conninfo: serviceURL)).append(IngestBatch(events: appended), consumerGroup: "test")
        let status = try runCallAudit(["projections", "status", "--database-url", ownerURL]).output
        for name in ProjectionCatalog.names {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map(String.init) ?? ""
            #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "40", "\(name) is 40 behind: \(status)")
        }

        // Then serve, as the service, with 20 more such calls arriving through Kafka.
        let kafka = try TestKafka(partitions: 2)
        let viaKafka = try (0..<20).flatMap { try callWithoutConsent($0, prefix: "restored-k", at: now) }
        try kafka.produce(viaKafka.map { event in
            SimulatedMessage(
                topic: event.event.type!.topic, key: event.event.stream,
                headers: [("content-type", Array("application/cloudevents+json".utf8))], value: event.event.document.canonicalBytes, time: now)
        })
        let started = Date()
        let serve = try ServeProcess([
            "--database-url", serviceURL, "--brokers", kafka.brokers, "--group", "restored", "--key-dir", keyDirectory.path,
            "--http-address", "127.0.0.1:\(freePort())", "--batch-delay-ms", "20", "--log-level", "warning",
        ])
        defer { _ = serve.terminate(within: 10) }
        let allFound = try waitUntil(seconds: 90) {
            try owner.query("SELECT count(DISTINCT call_id) FROM findings WHERE rule = 'CONSENT_MISSING' AND status = 'open' AND call_id LIKE 'restored-%'")
                .scalar == "40"
        }
        let findingsAfter = Date().timeIntervalSince(started)
        #expect(allFound, "every call without consent after the restore is a CONSENT_MISSING finding: \(serve.standardError)")
        let sealed = try waitUntil(seconds: 60) {
            try owner.query("SELECT (SELECT sum(event_count) FROM seals) = (SELECT count(*) FROM events)").scalar == "t"
        }
        let sealedAfter = Date().timeIntervalSince(started)
        #expect(sealed, "the new events are sealed")
        #expect(try Int(owner.query("SELECT count(*) FROM events").scalar!)! == restoredEvents + 80)
        let settled = try runCallAudit(["projections", "status", "--database-url", ownerURL]).output
        for name in ProjectionCatalog.names {
            let line = settled.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map(String.init) ?? ""
            #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "0", "\(name) caught up: \(settled)")
        }
        #expect(serve.terminate(within: 10) != nil && serve.status == 0, "\(serve.standardError)")

        let verify = try run("verify")
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("intact") && verify.output.contains("is in the database unchanged"), "\(verify.output)")

        // Once the restored store has sealed events of its own under the numbers the old one went on
        // to use, a head the old store kept later is another chain's.
        let diverged = try runCallAudit(["seals", "head", "--check", later.path, "--database-url", ownerURL, "--key-dir", keyDirectory.path])
        #expect(diverged.status == 1 && diverged.output.hasPrefix("DIFFERENT"), "\(diverged.output)")

        print(
            "restore onto a fresh cluster, \(restoredEvents) events in \(restoredSeals) seals: roles \(fmt(roles.seconds)) s, createdb and pg_restore \(fmt(restore.seconds)) s, "
                + "migrate \(fmt(migrate.seconds)) s (shift \(shift)); serve to 40 findings \(fmt(findingsAfter)) s, to every event sealed \(fmt(sealedAfter)) s; "
                + "verify-store and head check \(fmt(verifyBefore.seconds)) s before serving, \(fmt(verify.seconds)) s after")
    }
}
}

extension DatabaseTests {
/// The log's clock on the dev cluster: no cluster of their own, so alongside the rest.
@Suite("The log's clock after a restore")
struct LogClockTests {
    @Test("only the owner moves the log's clock, and only forward: the service can neither rebase, set nor rewind it")
    func serviceCannotMoveTheClock() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        for attack in [
            "SELECT callaudit_log_clock_rebase()", "UPDATE log_clock SET shift = shift + 1000000",
            "ALTER TABLE events ALTER COLUMN transaction_id SET DEFAULT '1'::xid8", "DELETE FROM log_clock",
        ] {
            let refused = #expect(throws: PostgresError.self, "\(attack)") { try service.execute(attack) }
            #expect(refused?.sqlState == "42501", "\(attack): \(String(describing: refused))")
        }
        // What the service may write names events' ids; planted ids there move nothing:
        // serve would otherwise refuse to start, and a migrate shift the clock past bigint.
        try service.execute("INSERT INTO projection_checkpoints (projection, last_transaction_id) VALUES ('ahead', '9223372036854775000')")
        try service.execute("INSERT INTO projection_quarantine (projection, stream, transaction_id, position, error) VALUES ('ahead', 's', '9223372036854775000', 1, 'planted')")
        let owner = try database.owner()
        #expect(try LogClock.behind(on: owner) == nil, "ids the service planted do not put the clock behind")
        #expect(try LogClock.rebase(on: owner) == nil)
        // An event the owner restored from a cluster whose ids ran ahead does.
        try owner.execute("INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash, transaction_id) VALUES ('s', 't', 'urn:x', 'restored', now(), '{}', decode(repeat('00', 32), 'hex'), '90000000')")
        let shift = try #require(try LogClock.rebase(on: owner))
        #expect(try LogClock.behind(on: owner) == nil && LogClock.shift(on: owner) == shift)
        let rewind = #expect(throws: PostgresError.self) { try owner.execute("UPDATE log_clock SET shift = 0") }
        #expect(rewind?.sqlState == "42501")
        // What the service appends now sorts after the remembered id.
        try service.execute("INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash) VALUES ('s', 't', 'urn:x', 'x', now(), '{}', decode(repeat('00', 32), 'hex'))")
        #expect(try owner.query("SELECT transaction_id > '90000000'::xid8 FROM events WHERE event_id = 'x'").scalar == "t")
        #expect(try EventLog(connection: owner).horizon() > 90_000_000)
    }

    @Test("an id past any a cluster gives is refused by the rebase, naming it, and the clock stays where it was")
    func impossibleIdIsRefused() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        try owner.execute("INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash, transaction_id) VALUES ('s', 't', 'urn:x', 'far', now(), '{}', decode(repeat('00', 32), 'hex'), '9223372036854775000')")
        let refused = #expect(throws: PostgresError.self) { try LogClock.rebase(on: owner) }
        #expect(refused?.sqlState == "55000")
        #expect(refused?.message.contains("9223372036854775000") == true, "\(String(describing: refused))")
        #expect(try LogClock.shift(on: owner) == 0)
        // Ingest is unharmed: the default still gives the cluster's ids.
        let service = try PostgresConnection(conninfo: database.serviceURL)
        try service.execute("INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash) VALUES ('s', 't', 'urn:x', 'next', now(), '{}', decode(repeat('00', 32), 'hex'))")
    }
}
}

private func fmt(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
