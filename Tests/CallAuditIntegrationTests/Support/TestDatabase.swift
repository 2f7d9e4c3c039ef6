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
        if version == nil, serverURL == adminURL {
            try PostgresConnection(conninfo: serverURL).execute("CREATE DATABASE \(database.name) TEMPLATE \(try Migrations.template())")
        } else {
            try PostgresConnection(conninfo: serverURL).execute("CREATE DATABASE \(database.name)")
            try Migrations.run(on: database, through: version)
        }
        return database
    }

    func owner() throws -> PostgresConnection { try PostgresConnection(conninfo: ownerURL) }

    func count(_ sql: String) throws -> Int { Int(try owner().query(sql).scalar ?? "0") ?? 0 }

    func drop() {
        try? PostgresConnection(conninfo: serverURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// Migrations run one at a time in this process. They grant and revoke
/// cluster-wide role memberships (callaudit_writer, callaudit_reader), and two
/// at once fail on each other's catalog rows ("tuple concurrently deleted").
/// So the dev cluster's databases are copies of one database migrated once,
/// and the few that need their own migration (an older schema, another
/// cluster) take turns.
enum Migrations {
    private static let lock = Mutex<String?>(nil)

    /// The migrated database the dev cluster's test databases are copied from, made on first use and dropped at exit.
    static func template() throws -> String {
        try lock.withLock { made -> String in
            if let made { return made }
            let template = TestDatabase(name: "ca_template_\(UInt32.random(in: 0...UInt32.max))")
            try PostgresConnection(conninfo: TestDatabase.adminURL).execute("CREATE DATABASE \(template.name)")
            try migrate(template, through: nil)
            made = template.name
            atexit { Migrations.dropTemplate() }
            return template.name
        }
    }

    /// Runs `body` while no other migration on the dev cluster runs, in this process or another
    /// (the Runtime unit tests migrate their own databases, `callaudit migrate` children too):
    /// an advisory lock in the cluster's `postgres` database, which every one of them takes.
    static func alone<T>(_ body: () throws -> T) throws -> T {
        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        try admin.query("SELECT pg_catalog.pg_advisory_lock(\(clusterMigrationLock))")
        defer { _ = try? admin.query("SELECT pg_catalog.pg_advisory_unlock(\(clusterMigrationLock))") }
        return try body()
    }

    /// The key of that lock; Tests/CallAuditRuntimeTests/Support.swift takes the same one.
    static let clusterMigrationLock = 190_019

    static func run(on database: TestDatabase, through version: Int?) throws {
        try lock.withLock { _ in try migrate(database, through: version) }
    }

    private static func migrate(_ database: TestDatabase, through version: Int?) throws {
        let migrations = try Migration.bundled().filter { version == nil || $0.version <= version! }
        try alone { try Migrator(connection: database.owner(), migrations: migrations).migrate(logger: quietLogger) }
        try PostgresConnection(conninfo: database.serverURL).execute(
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_service') THEN
                    CREATE ROLE callaudit_service LOGIN IN ROLE callaudit_writer;
                END IF;
            END $$
            """)
    }

    private static func dropTemplate() {
        guard let name = lock.withLock({ $0 }) else { return }
        TestDatabase(name: name).drop()
    }
}
