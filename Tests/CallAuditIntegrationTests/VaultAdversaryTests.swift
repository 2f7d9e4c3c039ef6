import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditRequests
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Logging
import Synchronization
import Testing

extension DatabaseTests {
/// What a producer or the order of events could do to personal data: read
/// around the vault, join two people, or leave a link to someone erased.
@Suite("The vault holds against producers")
struct VaultAdversaryTests {
    /// Subjects of random shape, seeded: identifiers at the contract's places
    /// and elsewhere, extra members, nulls, reserved names, nested objects and
    /// arrays. Returns the messages and every identifier they carry.
    static func randomSubjects(count: Int, seed: UInt64) -> (messages: [[UInt8]], identifiers: [String]) {
        var random = SeededRandom(seed: seed)
        var identifiers: [String] = []
        func identifier(_ kind: String) -> JSONValue {
            let value = switch kind {
            case "phone": "+1555\(String(random.next() % 10_000_000).leftPadded(7))"
            case "email": "u\(random.hex(10))@ex\(random.hex(4)).test"
            case "customer_id": "CUST-\(random.hex(12))"
            case "employee_id": "EMP-\(random.hex(12))"
            default: "Name\(random.hex(8)) Surname\(random.hex(6))"
            }
            identifiers.append(value)
            return .string(value)
        }
        // Outside a subject an identifier is recognisable only by its member's
        // name (a bare string could be anything); inside one, anything goes.
        func extra(insideSubject: Bool) -> JSONValue {
            switch random.next() % 6 {
            case 0: return .null
            case 1: return .number(Double(random.next() % 1_000))
            case 2: return ["phone": identifier("phone"), "deep": ["email": identifier("email")]]
            case 3: return insideSubject ? [identifier("name"), identifier("customer_id")] : [["employee_id": identifier("employee_id")]]
            case 4: return .string("note \(random.hex(6))")
            default: return ["subject": ["name": identifier("name")]]
            }
        }
        func subject() -> JSONValue {
            var members: [(key: String, value: JSONValue)] = []
            for kind in ["phone", "email", "customer_id", "employee_id", "name"] where random.chance(0.5) { members.append((kind, identifier(kind))) }
            if members.isEmpty { members.append(("phone", identifier("phone"))) }
            for _ in 0..<(random.next() % 3) {
                members.append((random.pick(["nickname", "meta", "x", "sealed", "subject_ref", "history"]) + String(random.next() % 2 == 0 ? "" : "_\(random.hex(2))"), extra(insideSubject: true)))
            }
            return .object(Dictionary(members, uniquingKeysWith: { a, _ in a }).map { (key: $0.key, value: $0.value) })
        }
        var messages: [[UInt8]] = []
        for index in 0..<count {
            let call = "call-\(seed)-\(index)"
            let place = random.next() % 5
            var data: JSONValue
            switch place {
            case 0, 1:
                data = ["call_id": .string(call), "direction": "inbound", "channel": "phone", "parties": [
                    ["party_id": "p1", "role": "customer", "subject": subject()],
                    ["party_id": "p2", "role": "agent", "subject": subject(), "x_party": extra(insideSubject: false)],
                ]]
            case 2:
                data = ["request_id": .string("req-\(seed)-\(index)"), "subject": subject()]
            case 3:
                data = ["call_id": .string(call), "x_vendor": ["transfer": ["subject": subject()]]]
            default:
                data = ["call_id": .string(call), "x_vendor": extra(insideSubject: false)]
            }
            let type = place < 2 ? "call.started" : place == 2 ? "subject.erasure_requested" : "call.ended"
            let event: JSONValue = [
                "specversion": "1.0", "id": .string("e-\(seed)-\(index)"), "source": "urn:fuzz", "type": .string(type),
                "time": "2026-11-24T10:00:00Z", "data": data,
            ]
            messages.append(event.canonicalBytes)
        }
        return (messages, identifiers)
    }

    @Test("subjects of random shape: every message stored or dead-lettered, and no identifier in any table (pg_dump) or any log line")
    func noIdentifierReachesATableOrALog() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        let (messages, identifiers) = Self.randomSubjects(count: 300, seed: 1_701)
        let producer = try kafka.producer()
        for message in messages { try producer.produce(topic: Topic.calls.rawValue, value: message) }
        try producer.flush()
        let log = LogCapture()
        let ingest = RunningIngest(kafka.ingestConfiguration(database), logger: log.logger)
        #expect(try waitUntil(seconds: 60) { try consumed(database) == messages.count })
        ingest.stop()
        let stored = try database.count("SELECT count(*) FROM events")
        let letters = try database.count("SELECT count(*) FROM dead_letters")
        #expect(stored + letters == messages.count)
        #expect(stored > 50 && letters > 50, "both paths taken: \(stored) stored, \(letters) dead-lettered")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE sealed IS NULL") == 0)

        let dump = try pgDump(database)
        #expect(dump.contains("callaudit_link_subjects"), "the dump is the whole database")
        let leaked = identifiers.filter { dump.contains($0) || dump.contains($0.lowercased()) }
        #expect(leaked.isEmpty, "\(leaked.count) of \(identifiers.count) identifiers in clear in pg_dump, e.g. \(leaked.prefix(3))")
        let logged = log.text
        #expect(!logged.isEmpty, "the log was captured")
        #expect(identifiers.filter { logged.contains($0) }.isEmpty, "identifiers in the log")
    }

    @Test("erasing a person shreds the dead letters that named them, parsed or not: in a broken value, the key, a header")
    func unparseableDeadLettersAreShredded() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [
            Events.party("cust", "customer", ["phone": "+14155550142", "email": "jo@example.com", "customer_id": "C-42"]),
        ]))
        let origin = { (offset: Int64) in KafkaOrigin(topic: "calls", partition: 0, offset: offset) }
        let letters = [
            DeadLetter(origin: origin(1), rejection: Rejection(.notJSON, "x"), key: nil, headers: [],
                       value: Array(#"{"data":{"parties":[{"subject":{"customer_id": "C-42", "name":"Jo""#.utf8)),
            DeadLetter(origin: origin(2), rejection: Rejection(.notJSON, "x"), key: Array("+1 415 555 0142".utf8), headers: [], value: Array("{".utf8)),
            DeadLetter(origin: origin(3), rejection: Rejection(.notCloudEvent, "x"), key: nil, headers: [(key: "x-reply-to", value: Array("Jo <JO@example.com>".utf8))], value: nil),
            DeadLetter(origin: origin(4), rejection: Rejection(.notJSON, "x"), key: nil, headers: [], value: Array("someone else +14155550999".utf8)),
        ]
        try EventStore(connection: world.connection).append(IngestBatch(deadLetters: try letters.map(world.vault.sealDeadLetter)), consumerGroup: "test")
        let request = try world.desk.open(kind: .erasure, regime: "gdpr", identifiers: SubjectIdentifiers(customerID: "C-42"), verifiedBy: "test", by: world.dpo)
        #expect(try world.desk.erase(request.id, by: world.dpo).outcome.deadLetters == 3)
        let shredded = try world.connection.query("SELECT kafka_offset FROM dead_letters WHERE erased_at IS NOT NULL ORDER BY 1").map { $0[0]! }
        #expect(shredded == ["1", "2", "3"], "the fourth names someone else and stays")
    }

    @Test("the measured bypass: a subject with \"sealed\": null is refused, not stored in clear")
    func sealedNullIsRefused() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let event = Events.event("c1-start", .callStarted, "2026-11-20T10:00:00Z", [
            "call_id": "c1", "direction": "inbound", "channel": "phone",
            "parties": [Events.party("p", "customer", ["phone": "+14155550199", "name": "Plain Text", "sealed": .null])],
        ])
        #expect(throws: Rejection.self) { try world.ingest([event]) }
        #expect(!(try pgDump(world.database)).contains("+14155550199"))
    }

    @Test("two customers on one switchboard number: each one's export holds only their calls, and erasing one leaves the other whole")
    func switchboardNumberKeepsPeopleApart() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let switchboard = "+14155550000"
        let one: JSONValue = ["customer_id": "CUST-1", "phone": .string(switchboard), "name": "Customer One"]
        let two: JSONValue = ["customer_id": "CUST-2", "phone": .string(switchboard), "name": "Customer Two"]
        for (index, (subject, call)) in [(one, "one-a"), (one, "one-b"), (two, "two-a"), (one, "one-c"), (two, "two-b")].enumerated() {
            try world.ingest(Events.recordedCall(call, at: "2026-11-20T1\(index):00:00Z", parties: [
                Events.party("cust", "customer", subject), Events.party("agent", "agent", ["employee_id": "E1"]),
            ]))
        }
        func exportedCalls(_ identifiers: SubjectIdentifiers) throws -> (calls: [String], text: String) {
            let request = try world.desk.open(kind: .access, regime: "gdpr", identifiers: identifiers, verifiedBy: "test", by: world.dpo)
            let files = try world.unzip(try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo))
            let export = try JSONParser.parse(Array(files["export.json"]!.utf8))
            return ((export["calls"]?.arrayValue ?? []).compactMap { $0["call_id"]?.stringValue }.sorted(), files.values.joined(separator: "\n"))
        }
        let second = try exportedCalls(SubjectIdentifiers(customerID: "CUST-2"))
        #expect(second.calls == ["two-a", "two-b"])
        #expect(!second.text.contains("Customer One") && !second.text.contains("CUST-1"))
        #expect(try exportedCalls(SubjectIdentifiers(customerID: "CUST-1")).calls == ["one-a", "one-b", "one-c"])
        #expect(try exportedCalls(SubjectIdentifiers(phone: switchboard, customerID: "CUST-2")).calls == ["two-a", "two-b"])
        #expect(throws: RequestError.self, "the shared number alone names nobody") {
            _ = try exportedCalls(SubjectIdentifiers(phone: switchboard))
        }

        let erasure = try world.desk.open(kind: .erasure, regime: "gdpr", identifiers: SubjectIdentifiers(customerID: "CUST-2"), verifiedBy: "test", by: world.dpo)
        let report = try world.desk.erase(erasure.id, by: world.dpo)
        #expect(report.outcome.subjects == 1)
        let first = try exportedCalls(SubjectIdentifiers(customerID: "CUST-1"))
        #expect(first.calls == ["one-a", "one-b", "one-c"] && first.text.contains("CUST-1"), "customer one is untouched")
        let started = try JSONParser.parse(Array(try world.connection.query("SELECT event FROM events WHERE event_id = 'one-c-start'").scalar!.utf8))
        let sealed = started["data"]?["parties"]?.arrayValue?.first { $0["party_id"] == "cust" }?["subject"]
        #expect(try sealed.flatMap { try world.vault.openSubject($0, on: world.connection) }?["name"] == "Customer One", "their sealed name still opens")
        #expect(try world.database.count("SELECT count(*) FROM subjects WHERE erased_at IS NOT NULL") == 1)
    }

    @Test("an erasure that commits between ingest's lookup and its link: the batch resolves again, no link to the erased person, nothing retried for ever")
    func erasureRacingALink() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let kafka = try TestKafka(partitions: 1)
        let known: JSONValue = ["phone": "+14155550123"]
        try world.ingest(Events.recordedCall("before", at: "2026-11-20T10:00:00Z", parties: [Events.party("c", "customer", known)]))
        // Ingest learns the person, so its cache names them.
        let producer = try kafka.producer()
        func send(_ events: [JSONValue]) throws {
            for event in events { try producer.produce(topic: Topic.calls.rawValue, partition: 0, value: event.canonicalBytes) }
            try producer.flush()
        }
        let ingest = RunningIngest(kafka.ingestConfiguration(world.database))
        try send([Events.event("warm", .callStarted, "2026-11-20T11:00:00Z", ["call_id": "warm", "direction": "inbound", "channel": "phone", "parties": [Events.party("c", "customer", known)]])])
        #expect(try waitUntil(seconds: 30) { try consumed(world.database) == 1 })

        // The next batch links a new e-mail to that person and makes a new one; making the new one waits on a lock the test holds.
        let owner = try world.database.owner()
        try owner.execute(
            """
            CREATE FUNCTION test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242); RETURN NEW; END $$;
            CREATE TRIGGER test_pause BEFORE INSERT ON subjects FOR EACH ROW EXECUTE FUNCTION test_pause();
            """)
        let gate = try world.database.owner()
        try gate.execute("BEGIN; SELECT pg_advisory_xact_lock(4242)")
        try send([Events.event("racing", .callStarted, "2026-11-20T12:00:00Z", ["call_id": "racing", "direction": "inbound", "channel": "phone", "parties": [
            Events.party("c", "customer", ["phone": "+14155550123", "email": "late@example.com"]),
            Events.party("n", "third_party", ["phone": "+14155550777"]),
        ]])])
        #expect(try waitUntil(seconds: 30) {
            try owner.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'callaudit-ingest-vault'"
            ).scalar == "1"
        }, "ingest looked the person up and waits inside its link")
        let erasure = try world.desk.open(kind: .erasure, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550123"), verifiedBy: "test", by: world.dpo)
        #expect(try world.desk.erase(erasure.id, by: world.dpo).outcome.subjects == 1, "the erasure commits while ingest waits")
        try gate.execute("COMMIT")

        #expect(try waitUntil(seconds: 30) { try consumed(world.database) == 2 }, "the batch commits: resolved again, not retried for ever")
        ingest.stop()
        #expect(ingest.statistics.retries.load(ordering: .relaxed) >= 1, "the link met the erasure and was retried")
        #expect(try world.database.count("SELECT count(*) FROM subject_index i JOIN subjects s USING (subject_ref) WHERE s.erased_at IS NOT NULL") == 0)
        #expect(try world.database.count("SELECT count(*) FROM events WHERE event_id = 'racing'") == 1)
        #expect(try world.vault.find([.email("late@example.com")], on: world.connection).refs.count == 1, "the new e-mail names a new, live person")
    }
}
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}


/// Every log line and its metadata, at trace level, as text.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "test.capture") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.append("\(event.level) \(event.message) \(all) \(event.error.map { "\($0)" } ?? "")")
        }
    }
}
