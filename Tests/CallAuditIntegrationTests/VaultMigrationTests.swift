import CallAuditDomain
import CallAuditStore
import CallAuditVault
import Foundation
import Synchronization
import Testing

extension DatabaseTests {
/// Migration 14 dropped `subject_index`'s foreign key, made its by-person
/// index `(subject_ref, kind)`, and left the service roles writing the vault
/// only through `callaudit_link_subjects` and `callaudit_erase_subjects`.
/// Each test makes one fault of the design rejected before it (a per-person
/// list of blind indexes) happen, and shows it cannot.
@Suite("The vault across migration 14")
struct VaultMigrationTests {
    /// Events whose one customer party carries `subject`.
    static func events(_ call: String, _ subject: JSONValue) throws -> [IncomingEvent] {
        try Events.recordedCall(call, at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", subject)]).map {
            IncomingEvent(event: try EventDecoder.validate($0), origin: nil)
        }
    }

    /// The person the sealed events name.
    static func ref(in sealed: [IncomingEvent]) -> String? {
        sealed.lazy.compactMap { $0.event.document["data"]?["parties"]?.arrayValue?.first?["subject"]?["subject_ref"]?.stringValue }.first
    }

    /// Runs `firstSQL` in an open transaction on `first`, then `secondSQL` in a
    /// session of its own, which must wait for the first; commits the first
    /// and returns the second's SQLSTATE ("" when it succeeded).
    static func race(_ firstSQL: String, then secondSQL: String, on first: PostgresConnection, serviceURL: String) throws -> String? {
        try first.execute("BEGIN")
        try first.execute(firstSQL)
        // nil while the second session waits.
        let outcome = Mutex<String?>(nil)
        Thread {
            do {
                try PostgresConnection(conninfo: serviceURL).execute(secondSQL)
                outcome.withLock { $0 = "" }
            } catch {
                outcome.withLock { $0 = (error as? PostgresError)?.sqlState ?? "\(error)" }
            }
        }.start()
        Thread.sleep(forTimeInterval: 1)
        #expect(outcome.withLock { $0 == nil }, "the second waits for the first")
        try first.execute("COMMIT")
        #expect(waitUntil(seconds: 30) { outcome.withLock { $0 != nil } })
        return outcome.withLock { $0 }
    }

    @Test("a serve from before migration 14, linking while it runs: its links are found, linked further and erased whole after it")
    func aServeFromBeforeKeepsWorking() throws {
        let database = try TestDatabase.create(throughVersion: 13)
        defer { database.drop() }
        // The service's own role, as a running serve has it.
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100", "customer_id": "C-1"]), on: service)))

        // A batch in flight, linked by migration 9's function, while migration 14 is applied: it waits for the batch.
        try service.execute("BEGIN")
        let inFlight = try Self.ref(in: try vault.seal(try Self.events("c2", ["customer_id": "C-1", "email": "a@example.com"]), on: service))
        #expect(inFlight == a)
        // nil while it runs; then the error it threw, or "" when it succeeded.
        let migrated = Mutex<String?>(nil)
        Thread {
            // Through 14 exactly: the migration this test is about (15 only rewrites the link function's checks).
            let outcome = Result { try Migrations.run(on: database, through: 14) }
            migrated.withLock { $0 = (try? outcome.get()).map { "" } ?? "\(outcome)" }
        }.start()
        Thread.sleep(forTimeInterval: 1)
        #expect(migrated.withLock { $0 == nil }, "the migration waits for the batch in flight")
        try service.execute("COMMIT")
        #expect(waitUntil(seconds: 60) { migrated.withLock { $0 != nil } })
        #expect(migrated.withLock { $0 } == "", "the migration failed")
        let owner = try database.owner()
        #expect(try owner.query("SELECT max(version) FROM schema_migrations").scalar == "14")

        // The same session (it cached migration 9's function) links on, through migration 14's.
        vault.forgetCachedPersons()
        let later = try Self.ref(in: try vault.seal(try Self.events("c3", ["customer_id": "C-1", "email": "a.later@example.com"]), on: service))
        #expect(later == a)
        #expect(try vault.find([.email("a@example.com")], on: service).refs == [a])
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE subject_ref = '\(a)'") == 4)

        // Erasure deletes every link A has, before, during and after the migration.
        let (outcome, _) = try vault.erase([a], on: service)
        #expect(outcome.subjects == 1 && outcome.indexEntries == 4)
        #expect(try database.count("SELECT count(*) FROM subject_index") == 0)
        #expect(try vault.find([.customerID("C-1")], on: service).refs.isEmpty)
        // And the customer id names a new person from then on, at the first try.
        let after = try #require(Self.ref(in: try vault.seal(try Self.events("c4", ["customer_id": "C-1"]), on: service)))
        #expect(after != a)
    }

    @Test("a link written outside the link function (a superuser's) is erased with its person; one to nobody never blocks a link")
    func linksWrittenOutsideTheFunction() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100"]), on: service)))
        let stray = vault.blindIndex(.email("stray@example.com")).hexString
        try owner.execute("INSERT INTO subject_index VALUES ('\\x\(stray)', '\(a)', 'email')")
        let (outcome, _) = try vault.erase([a], on: service)
        #expect(outcome.indexEntries == 2)
        #expect(try database.count("SELECT count(*) FROM subject_index") == 0, "the link the function did not write is gone too")

        // Links to a person who does not exist, and to one erased: they name nobody, and refuse nothing.
        for (index, ref) in [(vault.blindIndex(.customerID("C-9")), "sub_nobody"), (vault.blindIndex(.customerID("C-8")), a)] {
            try owner.execute("INSERT INTO subject_index VALUES ('\\x\(index.hexString)', '\(ref)', 'customer_id')")
        }
        vault.forgetCachedPersons()
        for id in ["C-9", "C-8"] {
            let sealed = try vault.seal(try Self.events("c-\(id)", ["customer_id": .string(id), "phone": "+14155550199"]), on: service)
            let person = try #require(Self.ref(in: sealed))
            #expect(person != a && person != "sub_nobody")
            #expect(try vault.find([.customerID(id)], on: service).refs == [person])
        }
    }

    @Test("a person given thousands of identifiers one by one: each link and each lookup reads the same few index entries")
    func linksCostTheSameWhateverAPersonHolds() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let stats = try database.owner()
        /// Index entries and heap rows read from the vault's tables so far, by every session.
        func read() throws -> Int {
            try service.execute("SELECT pg_stat_force_next_flush()")
            return Int(try stats.query(
                """
                SELECT sum(coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)) FROM pg_stat_user_tables
                WHERE relname IN ('subject_index', 'subjects', 'shared_identifiers')
                """).scalar ?? "0") ?? 0
        }
        // A store of realistic size, its statistics fresh: on a table of a few hundred rows a
        // sequential scan is the planner's cheapest plan, and the count below would measure
        // that choice (whether autovacuum had analyzed the table yet), not the indexes.
        try stats.execute(
            """
            INSERT INTO subjects (subject_ref, kek_id, wrapped_key) SELECT 'sub_other_' || n, 'k', '\\x00' FROM generate_series(1, 20000) n;
            INSERT INTO subject_index SELECT sha256(('other' || n)::text::bytea), 'sub_other_' || (n % 20000 + 1), 'email'
            FROM generate_series(1, 100000) n;
            ANALYZE subjects, subject_index, shared_identifiers
            """)
        var costs: [Int] = []
        var last = try read()
        for n in 0..<1_200 {
            _ = try vault.seal(try Self.events("c\(n)", ["customer_id": "C-1", "email": .string("a\(n)@example.com")]), on: service)
            if n % 200 == 199 {
                let now = try read()
                costs.append(now - last)
                last = now
            }
        }
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE subject_ref NOT LIKE 'sub_other_%'") == 1_201)
        // Per 200 links: the first 200 against the last (a read per held identifier would add 200 × 1,000).
        #expect(costs.last! <= costs.first! + 200, "rows read per 200 links: \(costs)")

        // A lookup that finds them by their customer id reads their strong identifiers by kind, not all 1,201.
        vault.forgetCachedPersons()
        try stats.execute("ANALYZE subjects, subject_index")
        let before = try read()
        _ = try vault.seal(try Self.events("strong", ["customer_id": "C-1", "employee_id": "E-1"]), on: service)
        let lookup = try read() - before
        #expect(lookup < 100, "rows read to find and link a person holding 1,201 identifiers: \(lookup)")
    }

    @Test("the service roles write the vault's tables only through its functions, which pin their search_path")
    func serviceWritesOnlyThroughTheFunctions() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100"]), on: service)))
        let index = "'\\x\(String(repeating: "ab", count: 32))'"
        let refused = [
            "INSERT INTO subject_index VALUES (\(index), '\(a)', 'email')", "UPDATE subject_index SET subject_ref = 'sub_x'",
            "DELETE FROM subject_index", "TRUNCATE subject_index",
            "INSERT INTO shared_identifiers (blind_index) VALUES (\(index))", "DELETE FROM shared_identifiers",
            "INSERT INTO subjects (subject_ref, kek_id, wrapped_key) VALUES ('sub_x', 'k', '\\x00')", "DELETE FROM subjects",
            "UPDATE subjects SET erased_at = now(), wrapped_key = NULL, kek_id = NULL", "UPDATE subjects SET created_at = now()",
            "INSERT INTO vault_epoch (erasures) VALUES (0)", "UPDATE vault_epoch SET erasures = 0", "UPDATE vault_epoch SET relinks = 0",
            "DELETE FROM vault_epoch",
        ]
        #expect(LeastPrivilegeTests.accepted(refused, on: service).isEmpty, "the service wrote the vault's tables directly")
        // A KEK rotation's re-wrap, the link and the erase functions are what it may do.
        let allowed = ["UPDATE subjects SET kek_id = kek_id, wrapped_key = wrapped_key", "UPDATE vault_epoch SET kek_current = kek_current"]
        #expect(LeastPrivilegeTests.accepted(allowed, on: service).count == 2)
        #expect(try database.count("SELECT count(*) FROM vault_epoch") == 1)
        let functions = try service.query(
            """
            SELECT p.proname, p.prosecdef::text, array_to_string(p.proconfig, ';') FROM pg_proc p
            WHERE p.proname IN ('callaudit_link_subjects', 'callaudit_erase_subjects') ORDER BY 1
            """).decode((String, String, String).self)
        #expect(functions.map(\.0) == ["callaudit_erase_subjects", "callaudit_link_subjects"])
        for (name, definer, config) in functions {
            #expect(definer == "true" && config.hasPrefix("search_path=pg_catalog, pg_temp"), "\(name): \(config)")
        }
        #expect(try vault.erase([a], on: service).outcome.subjects == 1)
    }

    @Test("two sessions linking one identifier to one person at once: the second fails as a serialization failure, and its retry succeeds")
    func racingLinksResolveOnRetry() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let first = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: first)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100"]), on: first)))
        let email = "'{\"\\\\x\(vault.blindIndex(.email("a@example.com")).hexString)\"}'"
        let link = "SELECT callaudit_link_subjects('{}', '{}', '\(testKeys.currentID)', \(email)::bytea[], '{\(a)}', '{email}')"
        let state = try Self.race(link, then: link, on: first, serviceURL: database.serviceURL)
        #expect(state == "40001", "a unique violation would dead-letter the batch; got \(String(describing: state))")
        try PostgresConnection(conninfo: database.serviceURL).execute(link)
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE subject_ref = '\(a)'") == 2)
    }

    @Test("two writers giving one customer id to two new persons at once: the second waits, fails as a serialization failure, and its retry finds the first's person")
    func racingStrongIdsNeverMakeTwoHolders() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let first = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: first)
        _ = try vault.seal(try Self.events("c0", ["phone": "+14155550100"]), on: first)
        let customer = "'{\"\\\\x\(vault.blindIndex(.customerID("C-1")).hexString)\"}'"
        let wrapped = try first.query("SELECT encode(wrapped_key, 'hex') FROM subjects LIMIT 1").scalar!
        func link(_ ref: String) -> String {
            "SELECT callaudit_link_subjects('{\(ref)}', '{\"\\\\x\(wrapped)\"}', '\(testKeys.currentID)', \(customer)::bytea[], '{\(ref)}', '{customer_id}')"
        }
        #expect(try Self.race(link("sub_a"), then: link("sub_b"), on: first, serviceURL: database.serviceURL) == "40001")
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE kind = 'customer_id'") == 1)
        // What ingest's retry does: it looks the customer id up again and finds the first's person.
        vault.forgetCachedPersons()
        #expect(Self.ref(in: try vault.seal(try Self.events("c1", ["customer_id": "C-1"]), on: first)) == "sub_a")
    }

    @Test("a customer id already held by two live persons (planted by hand) does not stop sealing: it names one of them, every time")
    func strongIdHeldTwiceDoesNotStopIngest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100"]), on: service)))
        let b = try #require(Self.ref(in: try vault.seal(try Self.events("c2", ["phone": "+14155550101"]), on: service)))
        let customer = vault.blindIndex(.customerID("C-1")).hexString
        for ref in [a, b] { try owner.execute("INSERT INTO subject_index VALUES ('\\x\(customer)', '\(ref)', 'customer_id')") }
        vault.forgetCachedPersons()
        let named = try (0..<3).map { n in Self.ref(in: try vault.seal(try Self.events("c-\(n)", ["customer_id": "C-1"]), on: service)) }
        #expect(named == Array(repeating: min(a, b), count: 3))
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE kind = 'customer_id'") == 2, "no third holder")
    }

    @Test("the vault's functions refuse REPEATABLE READ (an erasure there would miss a link committed while it waited), and the service's sessions pin READ COMMITTED")
    func functionsRefuseRepeatableRead() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let vault = try SubjectVault.open(keys: testKeys, on: service)
        let a = try #require(Self.ref(in: try vault.seal(try Self.events("c1", ["phone": "+14155550100"]), on: service)))
        try service.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(throws: PostgresError.self) { try service.execute("SELECT * FROM callaudit_erase_subjects('{\(a)}')") }
        try service.execute("ROLLBACK")
        try service.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(throws: PostgresError.self) { try service.execute("SELECT callaudit_link_subjects('{}', '{}', 'k', '{}', '{}', '{}')") }
        try service.execute("ROLLBACK")
        // A role default of REPEATABLE READ (which the role may set for itself) does not reach our sessions.
        let role = try service.query("SELECT current_user").scalar!
        try database.owner().execute("ALTER ROLE \(role) IN DATABASE \(database.name) SET default_transaction_isolation = 'repeatable read'")
        let fresh = try PostgresConnection(conninfo: database.serviceURL)
        #expect(try fresh.query("SHOW default_transaction_isolation").scalar == "read committed")
        #expect(try vault.erase([a], on: fresh).outcome.subjects == 1)
    }

    @Test("the link function refuses arguments no writer of ours sends: arrays of different lengths, NULLs, a customer id for two persons")
    func linkFunctionRefusesMalformedArguments() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        _ = try SubjectVault.open(keys: testKeys, on: service)
        let b = "'{\"\\\\x\(String(repeating: "ab", count: 32))\"}'::bytea[]"
        let bb = "'{\"\\\\x\(String(repeating: "ab", count: 32))\",\"\\\\x\(String(repeating: "ab", count: 32))\"}'::bytea[]"
        let calls = [
            "SELECT callaudit_link_subjects('{sub_x}', '{}', 'k', '{}', '{}', '{}')",
            "SELECT callaudit_link_subjects('{sub_x}', '{\"\\\\x00\"}', NULL, '{}', '{}', '{}')",
            "SELECT callaudit_link_subjects('{}', '{}', 'k', \(b), '{sub_x}', '{}')",
            "SELECT callaudit_link_subjects('{}', '{}', 'k', \(b), '{NULL}', '{email}')",
            "SELECT callaudit_link_subjects('{sub_x,sub_y}', '{\"\\\\x00\",\"\\\\x01\"}', 'k', \(bb), '{sub_x,sub_y}', '{customer_id,customer_id}')",
        ]
        for call in calls {
            do {
                try service.execute(call)
                Issue.record("accepted: \(call)")
            } catch {
                #expect(error.sqlState == "22023", "\(call): \(error)")
            }
        }
    }
}
}
