import CallAuditStore

#if canImport(Glibc)
import Glibc
#endif

/// Fresh copies of a projection's tables in the schema `callaudit_rebuild`,
/// filled inside one transaction and then swapped into `public`.
///
/// While they exist, `search_path` puts the copies first, so the projection's
/// own SQL (unqualified names) fills them without knowing. Nothing is visible
/// to other sessions before the transaction commits, and a crash leaves
/// nothing behind. Readers of the live tables wait only for the swap itself:
/// a brief ACCESS EXCLUSIVE lock, taken with a short lock timeout and retried
/// so the rebuild never queues readers behind a long one.
struct ShadowTables {
    static let schema = "callaudit_rebuild"

    let connection: PostgresConnection
    /// Rebuilt and swapped in.
    let tables: [String]
    /// Copied so the projection can write them, then dropped.
    let scratch: [String]

    /// Creates empty copies (columns, defaults, identity, constraints, indexes) and points `search_path` at them.
    /// Runs as `callaudit_writer`, which owns the live tables, so the copies are owned alike.
    func create() throws {
        try connection.execute("SET LOCAL ROLE callaudit_writer")
        for table in tables + scratch {
            try connection.execute("CREATE TABLE \(Self.schema).\(table) (LIKE public.\(table) INCLUDING ALL)")
        }
        try connection.execute("SET LOCAL search_path = \(Self.schema), public")
    }

    /// Replaces each live table with its copy, keeping the live table's grants.
    func swap(lockAttempts: Int = 120) throws {
        try connection.execute("SET LOCAL search_path = public")
        try lockLiveTables(attempts: lockAttempts)
        for table in tables {
            let grants = try connection.query(
                """
                SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
                FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
                WHERE c.oid = $1::regclass AND a.grantee <> c.relowner
                """, [.text("public.\(table)")])
            try connection.execute("DROP TABLE public.\(table)")
            try connection.execute("ALTER TABLE \(Self.schema).\(table) SET SCHEMA public")
            for grant in grants {
                try connection.execute("GRANT \(grant[0]!) ON public.\(table) TO \(grant[1]!)")
            }
        }
        for table in scratch { try connection.execute("DROP TABLE \(Self.schema).\(table)") }
    }

    /// ACCESS EXCLUSIVE on every live table, waiting at most a second per
    /// attempt: a queued lock request would hold up every new reader.
    private func lockLiveTables(attempts: Int) throws {
        let list = tables.map { "public.\($0)" }.joined(separator: ", ")
        var attempt = 1
        while !(try lockOnce(list, lastAttempt: attempt == attempts)) {
            attempt += 1
            usleep(200_000)
        }
    }

    /// One try under a savepoint: false when the lock timed out and another try may follow.
    private func lockOnce(_ list: String, lastAttempt: Bool) throws -> Bool {
        do {
            try connection.savepoint("swap_lock") {
                try connection.execute("SET LOCAL lock_timeout = '1s'; LOCK TABLE \(list) IN ACCESS EXCLUSIVE MODE")
            }
        } catch {
            guard !lastAttempt, (error as? PostgresError)?.sqlState == "55P03" else { throw error }
            return false
        }
        try connection.execute("SET LOCAL lock_timeout = 0")
        return true
    }
}
