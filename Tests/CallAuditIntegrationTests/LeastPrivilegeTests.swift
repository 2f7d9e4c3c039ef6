import CallAuditDomain
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// What whoever holds the service's PostgreSQL credential can do: append,
/// and read. Nothing that would let them rewrite the log or run code as the owner.
@Suite("Least privilege in PostgreSQL")
struct LeastPrivilegeTests {
    /// Runs each statement in a transaction of its own; those PostgreSQL took.
    static func accepted(_ statements: [String], on connection: PostgresConnection) -> [String] {
        statements.filter { statement in
            do {
                try connection.execute("BEGIN")
                defer { try? connection.execute("ROLLBACK") }
                try connection.execute(statement)
                return true
            } catch {
                return false
            }
        }
    }

    /// Functions and an operator that would each win over the built-in one
    /// the migrator, the service or a migration calls, and make their caller's
    /// role superuser: a bigint/integer overload, an exact (text, integer)
    /// match for `hashtextextended($1, 0)`, a non-variadic `format`.
    static func shadows(escalating role: String) -> [String] {
        let body = "INSERT INTO public.canary VALUES ('%@'); EXECUTE format('ALTER ROLE %I SUPERUSER', '\(role)');"
        func planted(_ signature: String, returns: String, _ result: String) -> String {
            let name = String(signature.prefix { $0 != "(" })
            let done = returns == "void" ? "RETURN;" : "RETURN \(result);"
            return "CREATE FUNCTION public.\(signature) RETURNS \(returns) LANGUAGE plpgsql AS $$ BEGIN \(body.replacingOccurrences(of: "%@", with: name)) \(done) END $$"
        }
        return [
            "CREATE TABLE public.canary (what text); GRANT INSERT ON public.canary TO PUBLIC",
            planted("pg_advisory_lock(integer)", returns: "void", "NULL"),
            planted("pg_advisory_unlock(integer)", returns: "boolean", "true"),
            planted("pg_try_advisory_lock(integer)", returns: "boolean", "true"),
            planted("pg_advisory_xact_lock(integer)", returns: "void", "NULL"),
            planted("hashtextextended(text, integer)", returns: "bigint", "1"),
            planted("hashtext(text)", returns: "integer", "1"),
            planted("format(text, text)", returns: "text", "$1"),
            planted("now()", returns: "timestamptz", "'2000-01-01'"),
            planted("sha256(bytea)", returns: "bytea", "$1"),
            planted("canary_eq(bigint, integer)", returns: "boolean", "true"),
            "CREATE OPERATOR public.= (leftarg = bigint, rightarg = integer, function = public.canary_eq)",
        ]
    }

    @Test("the service role can create nothing in any schema, and no way to defeat append-only works")
    func serviceRoleCannotCreateOrRewrite() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        let schemas = try database.owner().query(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'").map { $0[0]! }
        #expect(Set(schemas).isSuperset(of: ["public", "callaudit_rebuild", "pg_catalog"]))
        let creations = schemas.flatMap { schema in
            [
                "CREATE FUNCTION \(schema).pg_advisory_lock(integer) RETURNS void LANGUAGE sql AS 'SELECT'",
                "CREATE TABLE \(schema).planted (x int)", "CREATE VIEW \(schema).planted AS SELECT 1",
                "CREATE TYPE \(schema).planted AS ENUM ('x')",
            ]
        } + ["CREATE SCHEMA planted", "CREATE OPERATOR public.= (leftarg = bigint, rightarg = integer, function = pg_catalog.int84eq)"]
        #expect(Self.accepted(creations, on: service).isEmpty, "the service created objects")

        let appendOnly = ["events", "finding_changes", "audit_reports", "seals", "event_conflicts"]
        let attacks = appendOnly.flatMap { table in
            [
                "ALTER TABLE \(table) DISABLE TRIGGER USER", "ALTER TABLE \(table) DISABLE TRIGGER ALL",
                "DROP TRIGGER \(table)_no_update_or_delete ON \(table)", "TRUNCATE \(table)", "DELETE FROM \(table)",
                "CREATE RULE planted AS ON INSERT TO \(table) DO INSTEAD NOTHING", "CREATE VIEW public.\(table)_v AS SELECT * FROM \(table)",
                "ALTER TABLE \(table) OWNER TO callaudit_service", "ALTER TABLE \(table) RENAME TO \(table)_old", "DROP TABLE \(table)",
                "ALTER TABLE \(table) ADD COLUMN planted int", "SELECT callaudit_rebuild_swap('{\(table)}', '{}')",
            ] + (table == "finding_changes" ? [] : ["SELECT callaudit_rebuild_prepare('{\(table)}')"])
        } + [
            "UPDATE events SET event_time = event_time", "COPY events (position, transaction_id, stream, type, source, event_id, event_time, event, content_hash) FROM PROGRAM 'true'",
            "SET session_replication_role = replica", "ALTER ROLE callaudit_service SUPERUSER", "ALTER ROLE callaudit_writer SUPERUSER",
            "ALTER FUNCTION callaudit_reject_change() OWNER TO callaudit_service", "CREATE OR REPLACE FUNCTION callaudit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            "SELECT callaudit_rebuild_swap('{findings}', '{}')", "ALTER TABLE findings ENABLE ROW LEVEL SECURITY",
            "CREATE TRIGGER planted BEFORE INSERT ON findings FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change()",
        ]
        #expect(Self.accepted(attacks, on: service).isEmpty, "the service role defeated append-only")
        // A GRANT of what one does not hold is only a warning: what matters is that nothing was granted.
        _ = Self.accepted(appendOnly.map { "GRANT ALL ON \($0) TO callaudit_service" }, on: service)
        for table in appendOnly {
            let held = try service.query(
                "SELECT has_table_privilege($1, 'UPDATE') OR has_table_privilege($1, 'DELETE') OR has_table_privilege($1, 'TRUNCATE')", [.text(table)]).scalar
            #expect(held == "f", "the service can change \(table)")
        }
        // The way it does write still works: an append, and a rebuild's copy and swap of a projection table.
        let written = Self.accepted(
            ["INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash) VALUES ('s', 't', 'urn:x', 'x', now(), '{}', decode(repeat('00', 32), 'hex'))",
             "SELECT callaudit_rebuild_prepare('{findings,finding_changes}'); SELECT callaudit_rebuild_swap('{findings}', '{finding_changes}')"],
            on: service)
        #expect(written.count == 2, "\(written)")

        // It sees who holds the horizon back, not what anyone else is running.
        let other = try database.owner()
        try other.execute("BEGIN; SELECT pg_current_xact_id(); SELECT 'a DBA''s statement'")
        defer { _ = try? other.execute("ROLLBACK") }
        let seen = try service.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%DBA%' AND pid <> pg_backend_pid()").scalar
        #expect(seen == "0", "the service read another session's statement")
        // The horizon is the cluster's: a transaction of a test running alongside may be older for a moment.
        #expect(try waitUntil(seconds: 30) { try HorizonHolder.oldest(on: service)?.pid == other.backendPID }, "the holder is named all the same")
    }

    @Test("functions a service role planted before migration 9 never run: migrate and serve refuse, naming them, until they are gone")
    func plantedFunctionsNeverRun() throws {
        let database = try TestDatabase.create(throughVersion: 8)
        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        let probe = "probe_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE ROLE \(probe) LOGIN IN ROLE callaudit_writer")
        defer {
            database.drop()
            _ = try? admin.execute("DROP ROLE \(probe)")
        }
        let probeURL = database.ownerURL.replacingOccurrences(of: "postgres@", with: "\(probe)@")
        let planter = try PostgresConnection(conninfo: probeURL)
        for statement in Self.shadows(escalating: probe) { try planter.execute(statement) }

        let refused = try runCallAuditCapturingErrors(["migrate", "--database-url", database.ownerURL])
        #expect(refused.status != 0)
        for name in ["public.pg_advisory_lock(integer)", "public.hashtextextended(text, integer)", "public.canary"] {
            #expect(refused.error.contains(name), "migrate names \(name): \(refused.error)")
        }
        func escalated() throws -> Bool { try admin.query("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [.text(probe)]).scalar == "t" }
        #expect(try !escalated())
        #expect(try database.count("SELECT count(*) FROM public.canary") == 0, "no planted function ran")

        // Gone (as the DBA would drop them), migrate runs; from then on the role can plant nothing.
        try admin.execute("REASSIGN OWNED BY \(probe) TO postgres")
        try database.owner().execute("DROP TABLE public.canary CASCADE; DROP OPERATOR public.= (bigint, integer); DROP FUNCTION public.pg_advisory_lock(integer), public.pg_advisory_unlock(integer), public.pg_try_advisory_lock(integer), public.pg_advisory_xact_lock(integer), public.hashtextextended(text, integer), public.hashtext(text), public.format(text, text), public.now(), public.sha256(bytea), public.canary_eq(bigint, integer)")
        let migrated = try runCallAuditCapturingErrors(["migrate", "--database-url", database.ownerURL])
        #expect(migrated.status == 0, "\(migrated.error)")
        #expect(Self.accepted(Self.shadows(escalating: probe), on: planter).isEmpty, "after migration 9 nothing can be planted")

        // Should one appear all the same (a superuser made it and handed it over), serve refuses to start too.
        try database.owner().execute(
            "CREATE TABLE public.canary (what text); GRANT INSERT ON public.canary TO PUBLIC; " + Self.shadows(escalating: probe)[5]
                + "; ALTER FUNCTION public.hashtextextended(text, integer) OWNER TO \(probe); ALTER TABLE public.canary OWNER TO \(probe)")
        let kafka = try TestKafka(partitions: 1)
        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(serve.ended(within: 15))
        #expect(serve.status != 0 && serve.standardError.contains("public.hashtextextended(text, integer)"), "\(serve.standardError)")
        #expect(try runCallAuditCapturingErrors(["migrate", "--database-url", database.ownerURL]).status != 0)
        #expect(try database.count("SELECT count(*) FROM public.canary") == 0 && !escalated())
    }

    @Test("serve refuses a superuser and a role that can act as the tables' owner, unless --allow-privileged-role; /v1/status names the role")
    func servePrivilegedRoleIsRefused() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let asOwner = try ServeProcess(kafka: kafka, database: database, extra: ["--database-url", database.ownerURL])
        #expect(asOwner.ended(within: 15))
        #expect(asOwner.status != 0 && asOwner.standardError.contains("is a superuser"), "\(asOwner.standardError)")

        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        let deputy = "deputy_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE ROLE \(deputy) LOGIN IN ROLE postgres")
        defer { _ = try? admin.execute("DROP ROLE \(deputy)") }
        let asDeputy = try ServeProcess(
            kafka: kafka, database: database, extra: ["--database-url", database.ownerURL.replacingOccurrences(of: "postgres@", with: "\(deputy)@")])
        #expect(asDeputy.ended(within: 15))
        #expect(asDeputy.status != 0 && asDeputy.standardError.contains("the owner of the event tables"), "\(asDeputy.standardError)")

        let creator = "creator_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute("CREATE ROLE \(creator) LOGIN CREATEROLE IN ROLE callaudit_writer")
        defer { _ = try? admin.execute("DROP ROLE \(creator)") }
        let asCreator = try ServeProcess(
            kafka: kafka, database: database, extra: ["--database-url", database.ownerURL.replacingOccurrences(of: "postgres@", with: "\(creator)@")])
        #expect(asCreator.ended(within: 15))
        #expect(asCreator.status != 0 && asCreator.standardError.contains("allowed to create roles"), "\(asCreator.standardError)")

        for (asOwner, role, privileged) in [(true, "postgres", true), (false, "callaudit_service", false)] {
            let api = try RunningAPI(asOwner: asOwner)
            var status: JSONValue?
            _ = try waitUntil(seconds: 30) {
                status = try api.get("/v1/status", token: api.tokens["ops"]).json
                return status?["database"] != nil
            }
            #expect(status?["database"]?["role"] == .string(role) && status?["database"]?["privileged"] == .bool(privileged), "\(String(describing: status?["database"]))")
        }
    }
}
}
