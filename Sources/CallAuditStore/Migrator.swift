import Crypto
import Foundation
import Logging

/// A versioned SQL migration shipped with the binary (`schemas/migrations/NNNN_name.sql`).
package struct Migration: Sendable {
    package var version: Int
    package var name: String
    package var sql: String

    /// SHA-256 of the SQL, recorded when applied so an edited migration is noticed.
    package var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migrations bundled with this build, in version order.
    package static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.missingBundle
        }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        return try files.map { url in
            let stem = url.deletingPathExtension().lastPathComponent
            guard let separator = stem.firstIndex(of: "_"), let version = Int(stem[..<separator]) else {
                throw MigrationError.badFileName(url.lastPathComponent)
            }
            return Migration(
                version: version, name: String(stem[stem.index(after: separator)...]),
                sql: try String(contentsOf: url, encoding: .utf8))
        }.sorted { $0.version < $1.version }
    }
}

package enum MigrationError: Error, CustomStringConvertible {
    case missingBundle
    case badFileName(String)
    case changedAfterApply(version: Int, name: String)
    case schemaBehind(current: Int, required: Int)
    case schemaAhead(current: Int, known: Int)

    package var description: String {
        switch self {
        case .missingBundle: "the migrations are missing from this build"
        case .badFileName(let name): "migration file \(name) is not named NNNN_name.sql"
        case .changedAfterApply(let version, let name):
            "migration \(version) (\(name)) was changed after it was applied; restore it and add a new migration instead"
        case .schemaBehind(let current, let required):
            "the database schema is at version \(current) but this build needs \(required): run `callaudit migrate`"
        case .schemaAhead(let current, let known):
            "the database schema is at version \(current), newer than this build knows (\(known)): upgrade callaudit"
        }
    }
}

/// Applies migrations once each, in order, one transaction per migration,
/// serialised across processes by an advisory lock.
package struct Migrator {
    private static let lockKey = "pg_catalog.hashtext('callaudit.migrate')"
    package let connection: PostgresConnection
    package let migrations: [Migration]

    package init(connection: PostgresConnection, migrations: [Migration]) {
        self.connection = connection
        self.migrations = migrations
    }

    /// Applies what is pending and returns it; already-applied migrations are checked, not re-run.
    ///
    /// The owner's session resolves nothing a less trusted role could have
    /// planted: it first looks only in pg_catalog, refuses to go on while
    /// CallAudit's schemas hold objects of other roles (`SchemaTrust`), and
    /// only then runs the migrations with `public` as the schema they create in.
    @discardableResult
    package func migrate(logger: Logger) throws -> [Migration] {
        try connection.execute("SET search_path = pg_catalog, pg_temp")
        try connection.query("SELECT pg_catalog.pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.query("SELECT pg_catalog.pg_advisory_unlock(\(Self.lockKey))") }
        try SchemaTrust.requireTrustedSchemas(on: connection)
        try connection.execute("SET search_path = \(PostgresConnection.pinnedSearchPath)")
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try appliedChecksums()
        var newlyApplied: [Migration] = []
        for migration in migrations {
            if let checksum = applied[migration.version] {
                guard checksum == migration.checksum else {
                    throw MigrationError.changedAfterApply(version: migration.version, name: migration.name)
                }
                continue
            }
            try connection.transaction {
                try connection.execute(migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [.int(migration.version), .text(migration.name), .text(migration.checksum)])
            }
            logger.info("migration applied", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            newlyApplied.append(migration)
        }
        try rebaseLogClock(logger: logger)
        return newlyApplied
    }

    /// After a restore onto another cluster the log holds ids this cluster has
    /// not reached: move the log's clock past them (`LogClock`), so that new
    /// events sort after every checkpoint and seal. Nothing to do otherwise.
    private func rebaseLogClock(logger: Logger) throws {
        guard try connection.query("SELECT to_regprocedure('callaudit_log_clock_rebase()') IS NOT NULL").decodeScalar(Bool.self) else { return }
        guard let shift = try LogClock.rebase(on: connection) else { return }
        logger.notice(
            "the log's clock was moved past every transaction id the log holds (restored from another cluster)",
            metadata: ["log_clock.shift": "\(shift)"])
    }

    /// Fails with what to do unless the database is exactly at this build's schema.
    package func requireCurrent() throws {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").decodeScalar(Bool.self)
        let current = exists ? try connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations").decodeScalar(Int.self) : 0
        let required = migrations.last?.version ?? 0
        if current < required { throw MigrationError.schemaBehind(current: current, required: required) }
        if current > required { throw MigrationError.schemaAhead(current: current, known: required) }
    }

    private func appliedChecksums() throws -> [Int: String] {
        let rows = try connection.query("SELECT version, checksum FROM schema_migrations").decode((Int, String).self)
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }
}
