import CallAuditDomain
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

extension DatabaseTests {
/// Migration 14 moved a person's blind indexes onto their `subjects` row and
/// left `subject_index` with its primary key alone: persons stored before it
/// must be found, linked further and erased whole after it.
@Suite("The vault across migration 14")
struct VaultMigrationTests {
    @Test("persons stored before migration 14 are found by their identifiers, linked further, and erased whole after it")
    func personsSurviveMigration14() throws {
        let database = try TestDatabase.create(throughVersion: 13)
        defer { database.drop() }
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: owner)
        let (phone, customer, email) = (Identifier.phone("+14155550100"), Identifier.customerID("C-1"), Identifier.email("b@example.com"))
        let (a, b, c) = ("sub_" + String(repeating: "a", count: 24), "sub_" + String(repeating: "b", count: 24), "sub_" + String(repeating: "c", count: 24))
        // As migration 9's function stored them: A with a phone and a customer id, B with an e-mail, C with A's phone (now shared).
        func link(_ refs: [String], _ links: [(Identifier, String)]) throws {
            let wrapped = try refs.map { _ in try testKeys.wrap(Array(repeating: 7, count: 32)).wrapped.hexString }
            try owner.query(
                "SELECT callaudit_link_subjects($1::text[], $2::bytea[], $3, $4::bytea[], $5::text[], $6::text[])",
                [.text(postgresArrayLiteral(refs)), .text(postgresArrayLiteral(wrapped.map { "\\x" + $0 })), .text(testKeys.currentID),
                 .text(postgresArrayLiteral(links.map { "\\x" + vault.blindIndex($0.0).hexString })), .text(postgresArrayLiteral(links.map(\.1))),
                 .text(postgresArrayLiteral(links.map(\.0.kind)))])
        }
        try link([a, b], [(phone, a), (customer, a), (email, b)])
        try link([c], [(phone, c)])

        try Migrations.run(on: database, through: nil)
        #expect(try database.count("SELECT count(*) FROM pg_indexes WHERE tablename = 'subject_index'") == 1, "the primary key alone")
        #expect(try database.count("SELECT count(*) FROM pg_constraint WHERE conrelid = 'subject_index'::regclass AND contype = 'f'") == 0)
        #expect(try owner.query("SELECT subject_ref, cardinality(blind_indexes) FROM subjects ORDER BY 1").decode((String, Int).self).map(\.1) == [2, 1, 1])
        #expect(try vault.find([customer], on: owner).refs == [a])
        #expect(try vault.find([email], on: owner).refs == [b])
        #expect(try vault.find([phone], on: owner).shared == ["phone"])

        // A's customer id with a new e-mail: A, who gains the e-mail.
        let party = Events.party("p", "customer", ["customer_id": "C-1", "email": "A.New@example.com"])
        let events = try Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [party]).map {
            IncomingEvent(event: try EventDecoder.validate($0), origin: nil)
        }
        let sealed = try vault.seal(events, on: owner)
        let refs = Set(sealed.compactMap { $0.event.document["data"]?["parties"]?.arrayValue?.first?["subject"]?["subject_ref"]?.stringValue })
        #expect(refs == [a])
        #expect(try vault.find([.email("a.new@example.com")], on: owner).refs == [a])
        #expect(try database.count("SELECT cardinality(blind_indexes) FROM subjects WHERE subject_ref = '\(a)'") == 3)

        // Erasing A removes every link A had, before and after the migration, and the list on A's row; C keeps the phone.
        let (outcome, _) = try vault.erase([a], on: owner)
        #expect(outcome.subjects == 1 && outcome.indexEntries == 3)
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE subject_ref = '\(a)'") == 0)
        #expect(try database.count("SELECT cardinality(blind_indexes) FROM subjects WHERE subject_ref = '\(a)'") == 0)
        #expect(try vault.find([customer], on: owner).refs.isEmpty)
        #expect(try database.count("SELECT count(*) FROM subject_index WHERE subject_ref IN ('\(b)', '\(c)')") == 2)
        #expect(try database.count("SELECT count(*) FROM shared_identifiers") == 1, "C still holds the phone A shared")
    }

    @Test("sealing a batch scans subject_index at most once per statement, never once per identifier")
    func linkingNeverScans() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: owner)
        func seal(calls: Range<Int>, _ subject: (Int) -> JSONValue) throws {
            let events = try calls.flatMap { call in
                Events.recordedCall(
                    "c\(call)", at: "2026-11-20T10:00:00Z", parties: (0..<10).map { Events.party("p\($0)", "customer", subject(call * 10 + $0)) })
            }.map { IncomingEvent(event: try EventDecoder.validate($0), origin: nil) }
            _ = try vault.seal(events, on: owner)
        }
        try seal(calls: 0..<300) { ["phone": .string("+4930\(100_000 + $0)")] }
        try owner.execute("ANALYZE subject_index")
        try owner.execute("ANALYZE subjects")
        try owner.execute("SELECT pg_stat_reset()")
        // Known phones with new e-mails (links to persons who exist), and new persons with new phones.
        try seal(calls: 0..<5) { ["phone": .string("+4930\(100_000 + $0)"), "email": .string("q\($0)@example.com")] }
        try seal(calls: 1_000..<1_005) { ["phone": .string("+4930\(100_000 + $0)")] }
        // This session's counters reach the shared statistics when it next goes idle.
        try owner.execute("SELECT pg_stat_force_next_flush()")
        let scans = try owner.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'subject_index'").decode(Int.self)
        // Two batches of 100 and 50 identifiers: a scan per identifier would be at least 150; a probe
        // per identifier, or a scan per statement of the lookup and the link function, a handful (5 measured).
        #expect(scans.count == 1 && scans[0] <= 10, "subject_index was scanned \(scans) times")
    }
}
}
