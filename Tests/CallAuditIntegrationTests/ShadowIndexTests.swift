import CallAuditStore
import Testing

extension DatabaseTests {
/// Migration 16: a rebuild's copies made without indexes and given the live
/// tables' indexes once filled (`callaudit_rebuild_index`).
@Suite("Shadow tables indexed after they are filled")
struct ShadowIndexTests {
    static let tables = ["findings", "compliance_calls", "compliance_recordings", "compliance_deadlines"]

    /// Each index of `tables` in `schema`, its definition as if on the live table.
    static func indexes(in schema: String, on connection: PostgresConnection) throws -> [[String?]] {
        try connection.query(
            """
            SELECT tablename, indexname, replace(indexdef, $1 || '.', 'public.') FROM pg_indexes
            WHERE schemaname = $1 AND tablename = ANY($2::text[]) ORDER BY 1, 2
            """, [.text(schema), .text(postgresArrayLiteral(tables))]
        ).rows
    }

    @Test("copies made unindexed have no index until callaudit_rebuild_index gives them the live table's, under the live names, once")
    func indexedAfterFill() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let live = try Self.indexes(in: "public", on: service)
        #expect(live.count >= 8)
        try service.execute("BEGIN")
        defer { _ = try? service.execute("ROLLBACK") }
        try service.query(
            "SELECT callaudit_rebuild_prepare($1::text[], $2::text[])",
            [.text(postgresArrayLiteral(Self.tables)), .text("{findings,compliance_recordings,compliance_deadlines}")])
        #expect(try Self.indexes(in: "callaudit_rebuild", on: service) == live.filter { $0[0] == "compliance_calls" })

        try service.execute("INSERT INTO callaudit_rebuild.compliance_deadlines VALUES ('recording:r1', now(), false)")
        try service.query("SELECT callaudit_rebuild_index($1::text[])", [.text(postgresArrayLiteral(Self.tables))])
        #expect(try Self.indexes(in: "callaudit_rebuild", on: service) == live)
        try service.query("SELECT callaudit_rebuild_index($1::text[])", [.text(postgresArrayLiteral(Self.tables))])
        #expect(try Self.indexes(in: "callaudit_rebuild", on: service) == live, "a second call adds nothing")
        // The primary key built after the rows is a real one.
        let duplicate = #expect(throws: PostgresError.self) {
            try service.execute("INSERT INTO callaudit_rebuild.compliance_deadlines VALUES ('recording:r1', now(), false)")
        }
        #expect(duplicate?.sqlState == "23505")
    }

    @Test("copies swapped in before they were indexed get the live tables' indexes from the swap itself (migration 17)")
    func swapIndexesWhatItSwapsIn() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let live = try Self.indexes(in: "public", on: service)
        let tables = postgresArrayLiteral(Self.tables)
        // What a holder of the service's credential can do: skip callaudit_rebuild_index, swap at once.
        try service.execute("BEGIN")
        try service.query("SELECT callaudit_rebuild_prepare($1::text[], $1::text[])", [.text(tables)])
        try service.query("SELECT callaudit_rebuild_swap($1::text[], '{}')", [.text(tables)])
        try service.execute("COMMIT")
        #expect(try Self.indexes(in: "public", on: service) == live)
        try service.execute("INSERT INTO compliance_deadlines VALUES ('recording:r1', now(), false)")
        let duplicate = #expect(throws: PostgresError.self) {
            try service.execute("INSERT INTO compliance_deadlines VALUES ('recording:r1', now(), false)")
        }
        #expect(duplicate?.sqlState == "23505", "the live table's primary key is there")
    }

    @Test("the swap refuses a copy whose indexes are not the live table's")
    func swapRefusesADifferentlyIndexedCopy() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let live = try Self.indexes(in: "public", on: service)
        try service.execute("BEGIN; SELECT callaudit_rebuild_prepare('{findings}'); COMMIT")
        // One index fewer than the live table: only the owner can do this (a copy is the owner's).
        let owner = try database.owner()
        let dropped = try #require(try owner.query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'callaudit_rebuild' AND tablename = 'findings' AND indexdef NOT LIKE '%UNIQUE%' LIMIT 1"
        ).scalar)
        try owner.execute("DROP INDEX callaudit_rebuild.\"\(dropped)\"")
        let refused = #expect(throws: PostgresError.self) { try service.execute("SELECT callaudit_rebuild_swap('{findings}', '{}')") }
        #expect(refused?.sqlState == "42501")
        #expect(try Self.indexes(in: "public", on: service) == live, "the live table is untouched")
    }

    @Test("the service can make unindexed copies and index them only of projection tables")
    func onlyProjectionTables() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        for statement in [
            "SELECT callaudit_rebuild_prepare('{events}', '{events}')", "SELECT callaudit_rebuild_prepare('{findings,seals}', '{}')",
            "SELECT callaudit_rebuild_index('{events}')", "SELECT callaudit_rebuild_index('{findings,schema_migrations}')",
        ] {
            let refused = #expect(throws: PostgresError.self, "\(statement)") { try service.execute("BEGIN; \(statement)") }
            _ = try? service.execute("ROLLBACK")
            #expect(refused?.sqlState == "42501", "\(statement)")
        }
    }
}
}
