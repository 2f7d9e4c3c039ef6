import CallAuditStore

#if canImport(Glibc)
import Glibc
#endif

/// Fresh copies of a projection's tables in the schema `callaudit_rebuild`,
/// filled inside one transaction and then swapped into `public`.
///
/// While they exist, `search_path` puts the copies before the live tables,
/// so the projection's own SQL (unqualified names) fills them without
/// knowing. Nothing is visible to other sessions before the transaction
/// commits, and a crash leaves nothing behind. Readers of the live tables
/// wait only for the swap itself: a brief ACCESS EXCLUSIVE lock, taken with a
/// short lock timeout and retried so the rebuild never queues readers behind
/// a long one.
///
/// The service creates nothing itself: the owner's functions
/// `callaudit_rebuild_prepare` and `callaudit_rebuild_swap` make the copies
/// (owned by the owner, with the live tables' grants) and swap them, and only
/// for the projection tables listed in `rebuildable_tables`.
struct ShadowTables {
    static let schema = "callaudit_rebuild"

    let connection: PostgresConnection
    /// Rebuilt and swapped in.
    let tables: [String]
    /// Copied so the projection can write them, then dropped.
    let scratch: [String]
    /// Copies made without indexes, given them at the latest just before the
    /// swap (`index`): PostgreSQL builds an index over loaded rows once, from
    /// sorted keys, for less than inserting each row into it as it comes.
    let unindexed: [String]

    init(connection: PostgresConnection, tables: [String], scratch: [String], unindexed: [String] = []) {
        self.connection = connection
        self.tables = tables
        self.scratch = scratch
        self.unindexed = unindexed
    }

    /// Creates empty copies (columns, defaults, identity, constraints, and
    /// indexes unless `unindexed`) and points `search_path` at them.
    func create() throws {
        let copies = PostgresValue.text(postgresArrayLiteral(tables + scratch))
        if unindexed.isEmpty {
            try connection.query("SELECT callaudit_rebuild_prepare($1::text[])", [copies])
        } else {
            try connection.query("SELECT callaudit_rebuild_prepare($1::text[], $2::text[])", [copies, .text(postgresArrayLiteral(unindexed))])
        }
        try connection.execute("SET LOCAL search_path = \(Self.schema), \(PostgresConnection.pinnedSearchPath)")
    }

    /// Gives those of `tables` still without indexes the live tables' indexes,
    /// under the live names. Before anything reads or upserts them by key.
    static func index(_ tables: [String], on connection: PostgresConnection) throws {
        guard !tables.isEmpty else { return }
        try connection.query("SELECT callaudit_rebuild_index($1::text[])", [.text(postgresArrayLiteral(tables))])
    }

    /// Indexes what is still unindexed, then replaces each live table with its
    /// copy, which carries the live table's grants. The swap function would
    /// index them too (migration 17, so no caller can skip it), but under the
    /// live tables' locks: indexed here first, readers wait only for the swap.
    func swap(lockAttempts: Int = 120) throws {
        try Self.index(unindexed, on: connection)
        try connection.execute("SET LOCAL search_path = \(PostgresConnection.pinnedSearchPath)")
        try lockLiveTables(attempts: lockAttempts)
        try connection.query(
            "SELECT callaudit_rebuild_swap($1::text[], $2::text[])",
            [.text(postgresArrayLiteral(tables)), .text(postgresArrayLiteral(scratch))])
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
