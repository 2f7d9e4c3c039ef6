import CallAuditStore
import Foundation
import Synchronization

/// A fresh, migrated database of a test's own, on the dev cluster that ops/test
/// starts (or on a cluster the test started): tests never share one, so they run side by side.
struct TestDatabase {
    static let adminURL = environment["CALLAUDIT_TEST_ADMIN_URL"] ?? "postgresql://postgres@127.0.0.1:54329/postgres"

    let name: String
    /// Any database's URL on the cluster that holds it, as the superuser: the dev cluster unless a test started its own.
    var serverURL: String = TestDatabase.adminURL

    var ownerURL: String { String(serverURL[...serverURL.lastIndex(of: "/")!]) + name }
    var serviceURL: String { ownerURL.replacingOccurrences(of: "postgres@", with: "callaudit_service@") }

    /// A new database on the cluster at `serverURL`, migrated through `version` (nil: every migration), with the service role.
    static func create(on serverURL: String = adminURL, throughVersion version: Int? = nil) throws -> TestDatabase {
        let database = TestDatabase(name: "ca_test_\(UInt32.random(in: 0...UInt32.max))", serverURL: serverURL)
        try PostgresConnection(conninfo: serverURL).execute("CREATE DATABASE \(database.name)")
        let migrations = try Migration.bundled().filter { version == nil || $0.version <= version! }
        try ClusterRoles.migrate(database, migrations)
        return database
    }

    func owner() throws -> PostgresConnection { try PostgresConnection(conninfo: ownerURL) }

    func count(_ sql: String) throws -> Int { Int(try owner().query(sql).scalar ?? "0") ?? 0 }

    func drop() {
        try? PostgresConnection(conninfo: serverURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// The roles a cluster holds once for all its databases (callaudit_writer and
/// callaudit_reader from the first migration, callaudit_service made here).
/// Two first migrations at once would both find them missing and one would
/// fail creating them, so each cluster's first migration runs alone; once the
/// roles exist, migrations run side by side.
private enum ClusterRoles {
    private static let ready = Mutex<Set<String>>([])

    static func migrate(_ database: TestDatabase, _ migrations: [Migration]) throws {
        func run() throws { try Migrator(connection: database.owner(), migrations: migrations).migrate(logger: quietLogger) }
        let ranAlone = try ready.withLock { clusters -> Bool in
            guard !clusters.contains(database.serverURL) else { return false }
            try run()
            try PostgresConnection(conninfo: database.serverURL).execute(
                """
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_service') THEN
                        CREATE ROLE callaudit_service LOGIN IN ROLE callaudit_writer;
                    END IF;
                END $$
                """)
            clusters.insert(database.serverURL)
            return true
        }
        if !ranAlone { try run() }
    }
}
