import CallAuditStore
import Foundation
import Logging

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Polls `condition` every 10 ms until it holds or `seconds` pass; whether it held.
func eventually(within seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return try condition()
}

/// Whether `condition` holds throughout `seconds`: for what must NOT happen (a blocked producer stays blocked).
func throughout(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        guard condition() else { return false }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

/// Runs `body` on a thread of its own.
func onThread(_ body: @escaping @Sendable () -> Void) {
    Thread(block: body).start()
}

/// A fresh, migrated database on the test cluster (`CALLAUDIT_TEST_ADMIN_URL`, as ops/test sets it), as the superuser.
struct ScratchDatabase {
    static let adminURL = ProcessInfo.processInfo.environment["CALLAUDIT_TEST_ADMIN_URL"] ?? "postgresql://postgres@127.0.0.1:54329/postgres"

    let name: String
    var url: String { String(Self.adminURL[...Self.adminURL.lastIndex(of: "/")!]) + name }

    static func create() throws -> ScratchDatabase {
        let database = ScratchDatabase(name: "ca_runtime_\(UInt32.random(in: 0...UInt32.max))")
        let admin = try PostgresConnection(conninfo: adminURL)
        try admin.execute("CREATE DATABASE \(database.name)")
        // Migrations change cluster-wide role memberships, and two at once fail on each other's catalog
        // rows: the integration tests' migrations take this advisory lock in `postgres` too (TestDatabase.swift).
        try admin.query("SELECT pg_catalog.pg_advisory_lock(190019)")
        defer { _ = try? admin.query("SELECT pg_catalog.pg_advisory_unlock(190019)") }
        try Migrator(connection: try PostgresConnection(conninfo: database.url), migrations: Migration.bundled()).migrate(logger: quietLogger)
        return database
    }

    var configuration: DatabaseConfiguration { DatabaseConfiguration(url: url) }

    func connect(application: String = "runtime-test") throws -> PostgresConnection {
        try configuration.connect(application: application)
    }

    func drop() {
        try? PostgresConnection(conninfo: Self.adminURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
