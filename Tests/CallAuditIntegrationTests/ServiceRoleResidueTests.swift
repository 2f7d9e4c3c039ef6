import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// What whoever held the service credential before release 9 keeps, and what
/// it can change in a dead letter (both found by an attacker's review, and
/// failing before they were fixed).
@Suite("The service credential keeps nothing")
struct ServiceRoleResidueTests {
    /// Before migration 9 the service's group role owned the projection
    /// tables: it could grant itself TRIGGER on them, grant them to PUBLIC,
    /// and attach a column default that runs as whoever inserts. Migration 9
    /// only changes their owner, which keeps every ACL entry and expression;
    /// SchemaTrust looks at objects, not at grants or defaults; and each
    /// rebuild copies both (LIKE … INCLUDING ALL, and the live ACL). Probed by
    /// hand: after `migrate`, the login role created a trigger on `findings`
    /// calling a pg_temp function, and a superuser's INSERT ran it (ALTER ROLE
    /// … SUPERUSER); the default copied pg_authid's password hashes into a
    /// column the service reads.
    @Test("what a writer attached to its projection tables before migration 9 (grants, a column with a default) does not survive migrate")
    func preNineResidueIsCleared() throws {
        let database = try TestDatabase.create(throughVersion: 8)
        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        let probe = "probe_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE ROLE \(probe) LOGIN IN ROLE callaudit_writer")
        defer {
            database.drop()
            _ = try? admin.execute("DROP ROLE \(probe)")
        }
        let planter = try PostgresConnection(conninfo: database.ownerURL.replacingOccurrences(of: "postgres@", with: "\(probe)@"))
        try planter.execute("SET ROLE callaudit_writer")
        try planter.execute("GRANT ALL ON findings TO \(probe)")
        try planter.execute("GRANT ALL ON findings TO PUBLIC")
        try planter.execute("ALTER TABLE findings ADD COLUMN planted text")
        try planter.execute(
            """
            ALTER TABLE findings ALTER COLUMN planted SET DEFAULT (CASE WHEN pg_catalog.current_setting('is_superuser') = 'on'
                THEN pg_catalog.query_to_xml('SELECT rolpassword FROM pg_catalog.pg_authid', false, false, '')::text END)
            """)

        let migrated = try runCallAuditCapturingErrors(["migrate", "--database-url", database.ownerURL])
        let left = try database.owner().query(
            """
            SELECT has_table_privilege($1, 'public.findings', 'TRIGGER')::text,
                   has_table_privilege('public', 'public.findings', 'INSERT')::text,
                   EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'public.findings'::regclass AND attname = 'planted' AND NOT attisdropped)::text
            """, [.text(probe)]
        ).rows[0]
        #expect(
            migrated.status != 0 || left == ["false", "false", "false"],
            "migrate ran (status \(migrated.status)) and left: TRIGGER for the login role \(left[0]!), INSERT for PUBLIC \(left[1]!), planted column \(left[2]!)")
    }

    /// security.md: "every event, dead letter, … is append-only in the
    /// database itself", and the service credential "cannot update … any of
    /// them". dead_letters has no trigger and the writer holds UPDATE on every
    /// column: the holder can rewrite a letter's reason, detail and bytes.
    @Test("the service role cannot rewrite what a dead letter says, delete it, or bring back a shredded one")
    func deadLetterContentIsAppendOnly() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.owner().execute(
            """
            INSERT INTO dead_letters (kafka_topic, kafka_partition, kafka_offset, reason, detail, headers, message_value)
            VALUES ('calls', 0, 1, 'not_json', 'unexpected character', '[]', '\\x7b'::bytea)
            """)
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let rewritten = LeastPrivilegeTests.accepted(
            ["UPDATE dead_letters SET reason = 'schema_violation', detail = 'rewritten', message_value = '\\x7d'::bytea"], on: service)
        #expect(rewritten.isEmpty, "the service rewrote a dead letter")
        #expect(LeastPrivilegeTests.accepted(["DELETE FROM dead_letters", "TRUNCATE dead_letters"], on: service).isEmpty)
        // What it may do: settle and shred; and nothing shredded or settled goes back.
        let allowed = LeastPrivilegeTests.accepted(
            ["UPDATE dead_letters SET status = 'replayed', replayed_at = now(), last_replay_error = NULL; UPDATE dead_letters SET sealed = NULL, wrapped_key = NULL, kek_id = NULL, erased_at = now()"],
            on: service)
        #expect(allowed.count == 1)
        try service.execute("UPDATE dead_letters SET status = 'replayed', replayed_at = now(); UPDATE dead_letters SET wrapped_key = NULL, erased_at = now()")
        let undone = LeastPrivilegeTests.accepted(
            ["UPDATE dead_letters SET status = 'open'", "UPDATE dead_letters SET wrapped_key = '\\x01'::bytea", "UPDATE dead_letters SET erased_at = NULL"], on: service)
        #expect(undone.isEmpty, "\(undone)")
    }
}
}
