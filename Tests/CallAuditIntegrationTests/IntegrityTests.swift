import CallAuditDomain
import CallAuditIntegrity
import CallAuditProjections
import CallAuditReports
import CallAuditSigning
import CallAuditSimulator
import CallAuditStore
import Foundation
import Testing

/// A store of simulated events appended in batches and sealed in several seals, with its key folder.
private struct SealedStore {
    let database: TestDatabase
    let keys: KeyRing
    let keyDirectory: URL
    let events: Int

    init(calls: Int = 40, sealSize: Int = 60) throws {
        database = try TestDatabase.create()
        keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        keys = try KeyRing.open(keyDirectory)
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let all = simulatedEvents(calls: calls, seed: 17)
        // Several transactions, so seal boundaries fall inside and between them.
        for chunk in stride(from: 0, to: all.count, by: 45) {
            try EventStore(connection: service).append(IngestBatch(events: Array(all[chunk..<min(chunk + 45, all.count)])), consumerGroup: "test")
        }
        events = all.count
        try Sealer(connection: service, schedule: SealSchedule(maxEvents: sealSize)).sealDue(key: keys.current, force: true)
    }

    func verify(fromSeal: Int64 = 1) throws -> StoreVerification {
        try StoreVerifier(connection: try database.owner(), keys: keys.published).verify(fromSeal: fromSeal)
    }

    /// Runs `sql` as the database's owner with the append-only triggers off, as an attacker with superuser rights would.
    func tamper(_ sql: String, table: String = "events") throws {
        try database.owner().execute(
            """
            BEGIN;
            ALTER TABLE \(table) DISABLE TRIGGER USER;
            \(sql);
            ALTER TABLE \(table) ENABLE TRIGGER USER;
            COMMIT
            """)
    }

    /// Events appended after the last seal: a few simulated calls and one of CallAudit's own events
    /// (a report read). Returns the position of a contract event and of the own event among them.
    func appendUnsealedTail() throws -> (contract: Int64, own: Int64) {
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let read = try OwnEventType.reportRead.event(
            data: ["report_id": "day-2026-11-23", "version": 1, "format": "json", "reader": ["name": "auditor-1", "role": "auditor"], "channel": "api"],
            at: .now)
        let tail = simulatedEvents(calls: 3, seed: 99, start: "2026-11-25T00:00:00Z") + [IncomingEvent(event: read, origin: nil)]
        try EventStore(connection: service).append(IngestBatch(events: tail), consumerGroup: "test")
        let owner = try database.owner()
        let lastSealed = try #require(try SealStore(connection: owner).latest()?.through)
        let contract = try #require(owner.query(
            "SELECT position FROM events WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND source <> 'urn:callaudit' ORDER BY position LIMIT 1",
            [.text(String(lastSealed.transactionID)), .int(lastSealed.position)]).scalar.flatMap { Int64($0) })
        let own = try #require(owner.query("SELECT position FROM events WHERE type = 'audit.report_read'").scalar.flatMap { Int64($0) })
        return (contract, own)
    }

    /// The position of the `n`th event in seal order.
    func position(_ n: Int) throws -> Int64 {
        Int64(try database.owner().query("SELECT position FROM events ORDER BY transaction_id, position OFFSET \(n) LIMIT 1").scalar!)!
    }

    func drop() {
        try? FileManager.default.removeItem(at: keyDirectory)
        database.drop()
    }
}

extension DatabaseTests {
@Suite("Integrity: seals, verify-store, tampering")
struct IntegrityTests {
    @Test("an untouched store verifies: every seal, link and event; seals chain and cover every settled event once")
    func intactStoreVerifies() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let result = try store.verify()
        #expect(result.intact, "\(String(describing: result.firstBreak))")
        #expect(result.sealsChecked >= 4, "\(store.events) events in seals of 60")
        #expect(result.eventsChecked == store.events && result.unsealedEvents == 0)
        #expect(try store.database.count("SELECT sum(event_count) FROM seals") == store.events)
        #expect(try store.verify(fromSeal: 3).intact, "an incremental check from seal 3")
    }

    @Test("a sealer that keeps what it read between rounds reads each event once and seals what it kept; a seal by another sealer in between drops what it kept")
    func sealerCarriesWhatItReadBetweenRounds() throws {
        let store = try SealedStore(calls: 10, sealSize: 10_000)
        defer { store.drop() }
        let service = try PostgresConnection(conninfo: store.database.serviceURL)
        let events = simulatedEvents(calls: 30, seed: 23, start: "2026-11-24T00:00:00Z")
        let (second, third, fourth) = (Array(events[0..<60]), Array(events[60..<120]), Array(events[120...]))
        // An hour's interval and room for every event: only `force` seals.
        let sealer = Sealer(connection: service, schedule: SealSchedule(interval: .seconds(3600), maxEvents: 10_000))
        var kept: SealLeaves?

        try EventStore(connection: service).append(IngestBatch(events: second), consumerGroup: "test")
        #expect(try sealer.sealDue(key: store.keys.current, carrying: &kept).isEmpty, "not due")
        #expect(kept?.count == second.count && kept?.headSealNo == 1)
        try EventStore(connection: service).append(IngestBatch(events: third), consumerGroup: "test")
        #expect(try sealer.sealDue(key: store.keys.current, carrying: &kept).isEmpty)
        #expect(kept?.count == second.count + third.count, "the second round appended only what settled since")
        let sealed = try sealer.sealDue(key: store.keys.current, carrying: &kept, force: true)
        #expect(sealed.map(\.eventCount) == [second.count + third.count] && kept == nil)

        try EventStore(connection: service).append(IngestBatch(events: fourth), consumerGroup: "test")
        #expect(try sealer.sealDue(key: store.keys.current, carrying: &kept).isEmpty && kept?.count == fourth.count)
        // Another sealer (a report generation, another `serve`) seals them first.
        #expect(try Sealer(connection: service).sealDue(key: store.keys.current, force: true).map(\.eventCount) == [fourth.count])
        #expect(try sealer.sealDue(key: store.keys.current, carrying: &kept, force: true).isEmpty, "nothing left to seal twice")
        #expect(kept?.count == 0 && kept?.headSealNo == 3)

        let result = try store.verify()
        #expect(result.intact, "\(String(describing: result.firstBreak))")
        #expect(result.sealsChecked == 3 && result.unsealedEvents == 0)
        #expect(try store.database.count("SELECT sum(event_count) FROM seals") == store.events + events.count)
    }

    @Test("a sealer whose session is replaced (a failover) forgets what it kept: an event it read that the database no longer holds is never sealed")
    func sealerForgetsWhatItKeptWithItsSession() throws {
        let store = try SealedStore(calls: 10, sealSize: 10_000)
        defer { store.drop() }
        let service = try PostgresConnection(conninfo: store.database.serviceURL)
        let events = simulatedEvents(calls: 10, seed: 29, start: "2026-11-24T00:00:00Z")
        try EventStore(connection: service).append(IngestBatch(events: events), consumerGroup: "test")
        // The head seal is fresh: for the interval, each round reads what settled and keeps it unsealed.
        let sealer = SealerService(
            database: DatabaseConfiguration(url: store.database.serviceURL), schedule: SealSchedule(interval: .seconds(6), maxEvents: 10_000),
            keyDirectory: store.keyDirectory, logger: quietLogger)
        Thread { sealer.run() }.start()
        defer { sealer.requestStop() }
        Thread.sleep(forTimeInterval: 2)
        // A failover to a standby that never received the newest event: it is gone, and the session with it.
        try store.tamper("DELETE FROM events WHERE position = (SELECT max(position) FROM events)")
        try store.database.owner().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-sealer'")

        let deadline = ContinuousClock.now + .seconds(30)
        while try store.database.count("SELECT count(*) FROM seals") < 2, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(try store.database.count("SELECT sum(event_count) FROM seals") == store.events + events.count - 1, "the lost event is not sealed")
        let result = try store.verify()
        #expect(result.intact, "\(String(describing: result.firstBreak))")
        #expect(result.unsealedEvents == 0)
    }

    @Test("an edited event is named by its position, whether or not its stored hash was edited too")
    func editedEventIsNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let victim = try store.position(70)
        try store.tamper("UPDATE events SET event = jsonb_set(event::jsonb, '{id}', '\"forged\"')::json WHERE position = \(victim)")
        let first = try store.verify().firstBreak
        #expect(first?.kind == .edited && first?.position == victim, "\(String(describing: first))")

        try store.tamper("UPDATE events SET content_hash = sha256(convert_to(event::text, 'UTF8')) WHERE position = \(victim)")
        let second = try store.verify().firstBreak
        #expect(second?.kind == .edited && second?.position == victim && second?.sealNo == 2, "\(String(describing: second))")
    }

    @Test("a deleted event is named")
    func deletedEventIsNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let victim = try store.position(130)
        try store.tamper("DELETE FROM events WHERE position = \(victim)")
        let found = try store.verify().firstBreak
        #expect(found?.kind == .deleted && found?.position == victim, "\(String(describing: found))")
    }

    @Test("an event inserted into a sealed range is named")
    func insertedEventIsNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let owner = try store.database.owner()
        let row = try owner.query("SELECT transaction_id::text FROM events ORDER BY transaction_id, position OFFSET 10 LIMIT 1").rows[0]
        try store.tamper(
            """
            INSERT INTO events (position, transaction_id, stream, type, source, event_id, event_time, event, content_hash)
            OVERRIDING SYSTEM VALUE
            SELECT 900000, '\(row[0]!)'::xid8, stream, type, source, 'backdated', event_time, event, content_hash
            FROM events ORDER BY position LIMIT 1
            """)
        let found = try store.verify().firstBreak
        #expect(found?.kind == .inserted && found?.position == 900_000, "\(String(describing: found))")
    }

    @Test("two events swapped are named as moved")
    func swappedEventsAreNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let (a, b) = (try store.position(5), try store.position(9))
        try store.tamper(
            """
            UPDATE events e SET event = o.event, content_hash = o.content_hash
            FROM (SELECT position, event, content_hash FROM events WHERE position IN (\(a), \(b))) o
            WHERE e.position IN (\(a), \(b)) AND o.position <> e.position
            """)
        let found = try store.verify().firstBreak
        #expect(found?.kind == .reordered && found?.position == a && found?.detail.contains("\(b)") == true, "\(String(describing: found))")
    }

    @Test("a forged seal and a broken chain link are named")
    func forgedSealAndBrokenLink() throws {
        let store = try SealedStore()
        defer { store.drop() }
        // Seal 2's body edited (a later time), its signature kept.
        try store.tamper(
            "UPDATE seals SET body = convert_to(replace(convert_from(body, 'UTF8'), '\"sealed_at\":\"', '\"sealed_at\":\"1'), 'UTF8') WHERE seal_no = 2",
            table: "seals")
        let forged = try store.verify().firstBreak
        #expect(forged?.kind == .forgedSeal && forged?.sealNo == 2, "\(String(describing: forged))")

        let other = try SealedStore()
        defer { other.drop() }
        // Seal 3 replaced by a validly signed seal that does not name seal 2 (made by whoever holds the key).
        let service = try PostgresConnection(conninfo: other.database.serviceURL)
        let sealStore = SealStore(connection: service)
        let three = try #require(try sealStore.seal(3))
        let one = try #require(try sealStore.seal(1))
        let impostor = try Seal.make(after: one, through: three.through, leaves: three.leaves, at: three.sealedAt, key: other.keys.current)
        try other.tamper(
            """
            UPDATE seals SET body = decode('\(Data(impostor.body).base64EncodedString())', 'base64'),
                signature = decode('\(impostor.signature.hexString)', 'hex') WHERE seal_no = 3
            """, table: "seals")
        let broken = try other.verify().firstBreak
        #expect(broken?.kind == .forgedSeal || broken?.kind == .brokenChain, "\(String(describing: broken))")
        #expect(broken?.sealNo == 3)
    }

    @Test("callaudit verify-store exits non-zero naming the break, and zero on an intact store")
    func verifyStoreCommand() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let arguments = ["verify-store", "--database-url", store.database.ownerURL, "--key-dir", store.keyDirectory.path]
        let intact = try runCallAudit(arguments)
        #expect(intact.status == 0 && intact.output.contains("intact"), "\(intact.output)")
        let victim = try store.position(42)
        try store.tamper("DELETE FROM events WHERE position = \(victim)")
        let broken = try runCallAudit(arguments)
        #expect(broken.status != 0)
        #expect(broken.output.contains("deleted") && broken.output.contains("position \(victim)"), "\(broken.output)")
    }

    @Test("each column readers use, edited by a superuser on a sealed event, an unsealed one and one of CallAudit's own, is named by its position, and nothing else is")
    func editedColumnsAreNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let tail = try store.appendUnsealedTail()
        let sealed = try store.position(70)
        let clean = try store.verify()
        #expect(clean.intact && clean.unsealedEvents > 10, "no column of an untouched store disagrees: \(clean.mismatches)")
        try store.database.owner().execute("CREATE TABLE saved AS SELECT * FROM events WHERE position IN (\(sealed), \(tail.contract), \(tail.own))")
        let edits: [(column: String, set: String)] = [
            ("stream", "stream = stream || '-x'"),
            ("type", "type = CASE type WHEN 'call.ended' THEN 'call.started' ELSE 'call.ended' END"),
            ("source", "source = source || '-x'"),
            ("event_id", "event_id = event_id || '-x'"),
            ("event_time", "event_time = event_time + interval '1 second'"),
        ]
        for (column, set) in edits {
            for victim in [sealed, tail.contract, tail.own] {
                try store.tamper("UPDATE events SET \(set) WHERE position = \(victim)")
                let result = try store.verify()
                #expect(result.firstBreak == nil, "the bytes and the chain are untouched: \(String(describing: result.firstBreak))")
                #expect(!result.intact)
                #expect(result.mismatches.map(\.position) == [victim] && result.mismatches.first?.columns == [column], "\(column) at \(victim): \(result.mismatches)")
                #expect((result.mismatches.first?.sealNo != nil) == (victim == sealed), "named with its seal, if sealed")
                try store.tamper(
                    """
                    UPDATE events e SET stream = s.stream, type = s.type, source = s.source, event_id = s.event_id, event_time = s.event_time
                    FROM saved s WHERE e.position = s.position
                    """)
            }
        }
        #expect(try store.verify().intact, "restored, the store verifies again")
    }

    @Test("a seal of thousands of events, its rows checked on every core, names edited columns in each part, in log order, and an edited event after them")
    func largeSealCheckedInParts() throws {
        let store = try SealedStore(calls: 400, sealSize: 10_000)
        defer { store.drop() }
        #expect(store.events >= 2_000, "enough rows for the check to be split: \(store.events)")
        let (early, late, last) = (try store.position(50), try store.position(store.events - 60), try store.position(store.events - 5))
        try store.tamper("UPDATE events SET event_time = event_time + interval '1 second' WHERE position IN (\(early), \(late))")
        let columns = try store.verify()
        #expect(columns.firstBreak == nil && columns.mismatches.map(\.position) == [early, late], "\(columns.mismatches)")
        try store.tamper("UPDATE events SET event = jsonb_set(event::jsonb, '{id}', '\"forged\"')::json WHERE position = \(last)")
        let edited = try store.verify()
        #expect(edited.firstBreak?.kind == .edited && edited.firstBreak?.position == last, "\(String(describing: edited.firstBreak))")
        #expect(edited.mismatches.map(\.position) == [early, late], "the columns before the break are still named")
    }

    @Test("an event whose transaction id a superuser moved past every committed transaction is hidden from projections, and named")
    func futureTransactionIsNamed() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let tail = try store.appendUnsealedTail()
        let owner = try store.database.owner()
        try store.tamper("UPDATE events SET transaction_id = '900000000000'::xid8 WHERE position = \(tail.contract)")
        let log = EventLog(connection: owner)
        // The horizon is the cluster's: a transaction of a test running alongside may hold it back for a moment.
        var readable: [Int64] = []
        _ = try waitUntil(seconds: 30) {
            readable = try log.read(after: .start, below: try log.horizon(), limit: 100_000).map(\.position)
            return readable.contains(tail.own)
        }
        #expect(!readable.contains(tail.contract) && readable.contains(tail.own), "projections never read it")
        let result = try store.verify()
        #expect(result.firstBreak == nil)
        #expect(result.mismatches.map(\.position) == [tail.contract] && result.mismatches.first?.columns == ["transaction_id"], "\(result.mismatches)")

        let sealed = try store.position(30)
        try store.tamper("UPDATE events SET transaction_id = '900000000001'::xid8 WHERE position = \(sealed)")
        let both = try store.verify()
        #expect(both.firstBreak?.kind == .deleted && both.firstBreak?.position == sealed, "gone from its seal: \(String(describing: both.firstBreak))")
        #expect(Set(both.mismatches.map(\.position)) == [tail.contract, sealed])
    }

    @Test("callaudit verify-store names each event whose columns disagree, by position and column, and exits non-zero")
    func verifyStoreCommandNamesColumns() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let (a, b) = (try store.position(12), try store.position(200))
        try store.tamper("UPDATE events SET event_time = event_time - interval '1 second' WHERE position = \(a)")
        try store.tamper("UPDATE events SET stream = 'call-forged', type = CASE type WHEN 'call.ended' THEN 'call.started' ELSE 'call.ended' END WHERE position = \(b)")
        let run = try runCallAudit(["verify-store", "--database-url", store.database.ownerURL, "--key-dir", store.keyDirectory.path])
        #expect(run.status == 1)
        #expect(run.output.contains("MISMATCH at position \(a) in seal 1: event_time differs"), "\(run.output)")
        #expect(run.output.contains("MISMATCH at position \(b) in seal") && run.output.contains("stream, type differ"), "\(run.output)")
        #expect(!run.output.contains("intact") && !run.output.contains("BROKEN"), "\(run.output)")
    }

    @Test("callaudit verify refuses a seal passed as a report; a report still verifies (and with OpenSSL); one from before kinds only when told; swapping its kind breaks it")
    func verifyRefusesOtherKinds() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let owner = try store.database.owner()
        let report = try ReportGenerator(connection: owner, policy: .default, signingKey: store.keys.current)
            .generate(.custom(from: Timestamp(rfc3339: "2026-11-23T00:00:00Z")!, to: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!, timeZone: "UTC"), status: .provisional)
        #expect(try JSONParser.parse(report.body)["type"] == "callaudit.report")
        let seal = try #require(try SealStore(connection: owner).seal(1))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
        try write("report.json", report.body)
        try write("report.sig", report.signature.bytes)
        try write("seal.json", seal.body)
        try write("seal.sig", seal.signature)
        try store.keys.published[0].pem.write(to: folder.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
        func verify(_ file: String, _ signature: String, _ extra: [String] = []) throws -> (output: String, status: Int32) {
            try runTool(callauditBinary, ["verify", file, "--signature", signature, "--key", "key.pem"] + extra, in: folder)
        }
        func openssl(_ file: String, _ signature: String) throws -> Int32 {
            try runTool("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", file, "-sigfile", signature], in: folder).status
        }

        let good = try verify("report.json", "report.sig")
        #expect(good.status == 0 && good.output.contains("valid: report adhoc-"), "\(good.output)")
        #expect(try openssl("report.json", "report.sig") == 0)

        #expect(try openssl("seal.json", "seal.sig") == 0, "the seal's signature itself is good")
        let asReport = try verify("seal.json", "seal.sig")
        #expect(asReport.status == 1 && asReport.output.contains("INVALID: the document is a seal, not a report"), "\(asReport.output)")
        #expect(try verify("seal.json", "seal.sig", ["--legacy-report"]).status == 1, "a seal names its kind: no flag makes it a report")

        // The kind swapped inside the signed bytes: neither verifier accepts them.
        try write("swapped.json", Array(String(decoding: report.body, as: UTF8.self)
            .replacingOccurrences(of: #""type":"callaudit.report""#, with: #""type":"callaudit.seal""#).utf8))
        let swapped = try verify("swapped.json", "report.sig")
        #expect(swapped.status == 1 && swapped.output.contains("the signature does not match"), "\(swapped.output)")
        let refused = try runTool(
            "/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "swapped.json", "-sigfile", "report.sig"], in: folder)
        #expect(refused.status == 1 && refused.output.contains("Signature Verification Failure"), "\(refused.output)")

        // A report as issued before reports named their kind, signed by the same key (with OpenSSL, from the key folder).
        guard case .object(let members) = try JSONParser.parse(report.body) else { throw TestFailure("a report is an object") }
        try write("old.json", JSONValue.object(members.filter { $0.key != "type" }).canonicalBytes)
        let privateKey = store.keyDirectory.appendingPathComponent("signing-\(store.keys.current.keyID).pem").path
        let signed = try runTool("/usr/bin/openssl", ["pkeyutl", "-sign", "-inkey", privateKey, "-rawin", "-in", "old.json", "-out", "old.sig"], in: folder)
        #expect(signed.status == 0, "\(signed.output)")
        let unnamed = try verify("old.json", "old.sig")
        #expect(unnamed.status == 1 && unnamed.output.contains("does not say what it is") && unnamed.output.contains("--legacy-report"), "\(unnamed.output)")
        let legacy = try verify("old.json", "old.sig", ["--legacy-report"])
        #expect(legacy.status == 0 && legacy.output.contains("issued before reports named their kind"), "\(legacy.output)")
    }

    @Test("verify-store and the proofs verifier take only seals for seals: a report's body and signature in a seal's place are refused")
    func reportInASealsPlace() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let owner = try store.database.owner()
        let report = try ReportGenerator(connection: owner, policy: .default, signingKey: store.keys.current)
            .generate(.custom(from: Timestamp(rfc3339: "2026-11-23T00:00:00Z")!, to: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!, timeZone: "UTC"), status: .provisional)
        let proofs: JSONValue = [
            "proofs": [], "unsealed": [],
            "seals": ["1": ["body_base64": .string(Data(report.body).base64EncodedString()), "signature": report.signature.json]],
        ]
        let refused = #expect(throws: ProofError.self) { try InclusionProofs.verify(proofs, keys: store.keys.published) }
        #expect(refused.map { "\($0)" }?.contains("seal 1: the document is a report, not a seal") == true, "\(String(describing: refused))")
        try store.tamper(
            """
            UPDATE seals SET body = decode('\(Data(report.body).base64EncodedString())', 'base64'),
                signature = decode('\(report.signature.bytes.hexString)', 'hex') WHERE seal_no = 2
            """, table: "seals")
        let found = try store.verify().firstBreak
        #expect(found?.kind == .forgedSeal && found?.sealNo == 2 && found?.detail.contains("not a seal") == true, "\(String(describing: found))")
    }

    @Test("conflicting republishes are recorded once each, across a SIGKILL and a full redelivery, each with an EVENT_CONFLICT finding; identical ones stay silent")
    func conflictingRepublishes() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let messages = simulatedMessages(calls: 30, seed: 51)
        let structured = messages.filter { message in !message.headers.contains { $0.key == "ce_id" } }
        let conflicting = try structured.prefix(12).map { message -> SimulatedMessage in
            guard case .object(var members) = try JSONParser.parse(message.value) else { throw TestFailure("not an object") }
            members.append((key: "note", value: "republished with other content"))
            return SimulatedMessage(topic: message.topic, key: message.key, headers: [], value: JSONValue.object(members).canonicalBytes, time: message.time)
        }
        let identical = Array(structured.suffix(5))
        try kafka.produce(messages)
        let first = try ServeProcess(kafka: kafka, database: database)
        #expect(waitUntil(seconds: 30) { (try? consumed(database)) == messages.count })
        try kafka.produce(conflicting + identical)
        let total = messages.count + conflicting.count + identical.count
        _ = waitUntil(seconds: 10) { (try? database.count("SELECT count(*) FROM event_conflicts")) ?? 0 > 0 }
        kill(first.process.processIdentifier, SIGKILL)
        #expect(first.ended(within: 5))

        // Everything read again from the start, as after a lost offset store.
        try database.owner().execute("UPDATE kafka_offsets SET next_offset = 0")
        let second = try ServeProcess(kafka: kafka, database: database)
        #expect(waitUntil(seconds: 30) { (try? consumed(database)) == total })
        #expect(try database.count("SELECT count(*) FROM event_conflicts") == conflicting.count, "once each")
        #expect(try database.count("SELECT count(*) FROM events WHERE type = 'integrity.event_conflict'") == conflicting.count)
        #expect(try database.count("SELECT count(*) FROM event_conflicts c JOIN events e ON e.position = c.original_position AND e.content_hash = c.original_hash") == conflicting.count,
                "each names the stored original, which stands")
        #expect(try waitUntil(seconds: 30) { try database.count("SELECT count(*) FROM findings WHERE rule = 'EVENT_CONFLICT' AND status = 'open'") == conflicting.count })
        #expect(try database.count("SELECT count(*) FROM events WHERE type NOT LIKE 'integrity.%'") == messages.count, "nothing else stored")
        #expect(second.terminate(within: 10) != nil)
    }

    @Test("every event a month's report cites has an inclusion proof to a signed seal, served a page at a time; callaudit verify checks the pages offline; a bent proof or a missing page fails")
    func reportProofsVerify() throws {
        let api = try RunningAPI()
        try api.append(simulatedEvents(calls: 300, seed: 23, days: 30, start: "2026-10-01T00:00:00Z"))
        let token = api.tokens["auditor"]!
        // Wait for the projections, then ask for October as a whole.
        #expect(try waitUntil(seconds: 60) { try projectionsCaughtUp(api.database) })
        let made = try api.request("POST", "/v1/reports", token: token, body: Array(#"{"from":"2026-10-01","to":"2026-11-01"}"#.utf8))
        let id = try #require(made.json?["report_id"]?.stringValue, "\(made.text)")
        let report = try api.get("/v1/reports/\(id)", token: token)
        let named = try #require(report.json?["event_store"]?["seal"]?["seal"]?.numberValue, "the report names its seal")
        #expect(named >= 1)
        let cited = Set((report.json?["findings"]?.arrayValue ?? []).flatMap { $0["evidence"]?.arrayValue ?? [] }.compactMap(\.stringValue))
        #expect(cited.count > 50, "a month of findings cites many events")

        // Every page, following `next`: together one proof per cited event, each page within its limit.
        var pages: [RunningAPI.Reply] = []
        var next: String? = "/v1/reports/\(id)/proofs?limit=20"
        while let path = next, pages.count < 100 {
            let page = try api.get(path, token: token)
            #expect(page.status == 200, "\(path): \(page.text)")
            #expect((page.json?["proofs"]?.arrayValue?.count ?? 0) + (page.json?["unsealed"]?.arrayValue?.count ?? 0) <= 20)
            #expect(page.json?["page"]?["cited"]?.numberValue == Double(cited.count))
            next = page.json?["page"]?["next"]?.stringValue
            #expect(next == nil || page.headers["link"]?.contains("rel=\"next\"") == true)
            pages.append(page)
        }
        #expect(pages.count == (cited.count + 19) / 20)
        let proven = pages.flatMap { $0.json?["proofs"]?.arrayValue ?? [] }.compactMap { $0["event_id"]?.stringValue }
        #expect(Set(proven) == cited && proven.count == cited.count, "one proof per cited event, none twice")
        #expect(try api.get("/v1/reports/\(id)/proofs?limit=1001", token: token).status == 400)
        #expect(try api.get("/v1/reports/\(id)/proofs?after=-1", token: token).status == 400)
        #expect(try api.get("/v1/reports/\(id)/proofs", token: token).json?["proofs"]?.arrayValue?.count == min(cited.count, 250), "250 by default")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("proofs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(report.body).write(to: folder.appendingPathComponent("report.json"))
        try Data(try api.get("/v1/reports/\(id)/signature", token: token).body).write(to: folder.appendingPathComponent("signature.json"))
        try Data(try api.get("/v1/keys", token: token).body).write(to: folder.appendingPathComponent("keys.json"))
        let files = try pages.enumerated().map { index, page in
            let file = folder.appendingPathComponent("proofs-\(index).json")
            try Data(page.body).write(to: file)
            return file.path
        }
        let verify = ["verify", folder.appendingPathComponent("report.json").path, "--signature", folder.appendingPathComponent("signature.json").path,
                      "--keys", folder.appendingPathComponent("keys.json").path, "--proofs"]
        let good = try runCallAudit(verify + files)
        #expect(good.status == 0 && good.output.contains("\(cited.count) inclusion proof"), "\(good.output)")
        let short = try runCallAudit(verify + files.dropLast())
        #expect(short.status == 1 && !short.output.contains("inclusion proof"), "a missing page is noticed: \(short.output)")

        // One hash of one audit path changed: the proof no longer reaches the root.
        let text = pages[0].text
        let path = try #require(text.range(of: #""audit_path":\["[0-9a-f]"#, options: .regularExpression))
        let digit = text[text.index(before: path.upperBound)]
        var bent = text
        bent.replaceSubrange(text.index(before: path.upperBound)..<path.upperBound, with: digit == "0" ? "1" : "0")
        try bent.write(toFile: files[0], atomically: true, encoding: .utf8)
        #expect(try runCallAudit(verify + files).status != 0, "a bent proof is refused")
    }

    @Test("a dead letter whose replay reuses a stored event's id with other content becomes a conflict, not a replay")
    func replayConflict() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let original = ContractEvent.callEnded(id: "twice")
        guard case .object(var members) = original else { return }
        members.append((key: "padding", value: .string(String(repeating: "x", count: 20_000))))
        let oversized = JSONValue.object(members)
        try kafka.produce([
            SimulatedMessage(topic: .calls, key: "k", headers: [], value: original.canonicalBytes, time: Timestamp(microseconds: 0)),
            SimulatedMessage(topic: .calls, key: "k", headers: [], value: oversized.canonicalBytes, time: Timestamp(microseconds: 0)),
        ])
        let ingest = RunningIngest(kafka.ingestConfiguration(database, maxMessageBytes: 16_384))
        #expect(try waitUntil(seconds: 60) { try consumed(database) == 2 })
        ingest.stop()
        let raised = try runCallAudit(["deadletters", "replay", "--database-url", database.ownerURL, "--max-message-bytes", "65536"])
        #expect(raised.status == 0 && raised.output.contains("replayed 0 of 1") && raised.output.contains("1 conflicting"), "\(raised.output)")
        #expect(try database.count("SELECT count(*) FROM event_conflicts") == 1)
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE status = 'open' AND last_replay_error LIKE '%conflicts with the event stored at position%'") == 1)
        #expect(try database.count("SELECT count(*) FROM events WHERE type = 'call.ended'") == 1, "the original stands")
    }

    @Test("a projection rebuild changes no seal")
    func rebuildKeepsSeals() throws {
        let store = try SealedStore()
        defer { store.drop() }
        let before = try store.database.owner().query("SELECT seal_no, encode(body, 'hex'), encode(signature, 'hex') FROM seals ORDER BY 1").rows
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { .now }), databaseURL: store.database.serviceURL, logger: quietLogger)
        _ = try runner.rebuild()
        let after = try store.database.owner().query("SELECT seal_no, encode(body, 'hex'), encode(signature, 'hex') FROM seals ORDER BY 1").rows
        #expect(before.map { $0.compactMap { $0 } } == after.map { $0.compactMap { $0 } })
        #expect(try store.verify().intact)
    }
}
}
