import ArgumentParser
import CallAuditStore

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the bundled schema migrations (idempotent).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let logger = try logging.makeLogger(label: "callaudit.migrate")
        let connection = try PostgresConnection(conninfo: database.resolved)
        let applied = try Migrator(connection: connection, migrations: Migration.bundled()).migrate(logger: logger)
        print(applied.isEmpty ? "schema is up to date" : "applied \(applied.count) migration(s): \(applied.map { "\($0.version)_\($0.name)" }.joined(separator: ", "))")
        // Say where the log's clock stands once it has ever been moved: after a restore this is the line that matters.
        if let clock = try LogClock.lastRebase(on: connection) {
            print("log clock: this cluster's transaction ids + \(clock.shift), above \(clock.above) (the highest the log held when it was moved on, \(clock.at))")
        }
    }
}
