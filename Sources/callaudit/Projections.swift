import ArgumentParser
import CallAuditProjections
import CallAuditStore
import Foundation
import Logging

struct Projections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect, rebuild, reset and un-quarantine projections.",
        subcommands: [Status.self, Rebuild.self, Reset.self, Retry.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Checkpoint, lag and quarantined streams of every projection.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let connection = try PostgresConnection(conninfo: database.resolved)
            let checkpoints = Dictionary(uniqueKeysWithValues: try ProjectionCheckpoints(connection: connection).all().map { ($0.projection, $0) })
            let log = EventLog(connection: connection)
            print(pad("projection", 20) + pad("checkpoint", 20) + pad("applied", 12) + pad("behind", 10) + "updated")
            for projection in ProjectionCatalog.all(policy: .default) {
                let status = checkpoints[projection.name]
                let cursor = status?.cursor ?? .start
                print(pad(projection.name, 20) + pad(cursor.description, 20) + pad(String(status?.eventsApplied ?? 0), 12)
                    + pad(String(try log.count(after: cursor)), 10) + (status?.updatedAt ?? "never"))
                for entry in try ProjectionQuarantine(connection: connection, projection: projection.name).entries() {
                    print("  quarantined \(entry.stream) at \(entry.cursor) since \(entry.quarantinedAt)\(entry.retryRequested ? " (retry requested)" : ""): \(entry.error)")
                }
            }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Empty a projection and re-apply the whole log, with progress.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Projection name (see `projections status`).") var name: String
        @OptionGroup var policy: PolicyOptions
        @Option(help: "Events per transaction when rebuilding batch by batch (a projection that cannot fold the log in memory, or a log with a poison event).")
        var batchSize = 5_000

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            let projection = try resolve(name, policy)
            let connection = try PostgresConnection(conninfo: database.resolved)
            let total = try EventLog(connection: connection).count(after: .start)
            if try !isLeaderless(name, on: connection) {
                FileHandle.standardError.write(Data(
                    "a running service leads \(name); waiting until it stops (`projections reset \(name)` has the service rebuild it)\n".utf8))
            }
            let runner = ProjectionRunner(
                projection: projection, databaseURL: database.resolved, logger: Logger(label: "rebuild") { _ in SwiftLogNoOpLogHandler() },
                batchSize: batchSize)
            let started = ContinuousClock.now
            let outcome = try runner.rebuild { done in progressBar(done, of: total, since: started) }
            FileHandle.standardError.write(Data("\n".utf8))
            if let reason = outcome.fallbackReason { print("the in-memory rebuild failed (\(reason)); rebuilt batch by batch instead") }
            let seconds = max(started.duration(to: .now).inSeconds, 0.001)
            print(
                "rebuilt \(projection.name)\(outcome.inMemory ? " in memory" : ""): \(outcome.events) events in \(String(format: "%.1f", seconds)) s"
                    + " (\(Int(Double(outcome.events) / seconds)) events/s)")
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Empty a projection and rewind it; the running service rebuilds it.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Projection name.") var name: String
        @OptionGroup var policy: PolicyOptions

        func run() throws {
            try ProjectionCheckpoints(connection: try PostgresConnection(conninfo: database.resolved)).reset(try resolve(name, policy))
            print("reset \(name)")
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-apply a projection's quarantined streams after a fix.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Projection name.") var name: String
        @OptionGroup var policy: PolicyOptions

        func run() throws {
            let projection = try resolve(name, policy)
            let connection = try PostgresConnection(conninfo: database.resolved)
            if try isLeaderless(name, on: connection) {
                let runner = ProjectionRunner(projection: projection, databaseURL: database.resolved, logger: Logger(label: "retry") { _ in SwiftLogNoOpLogHandler() })
                let released = try runner.retryQuarantined()
                let left = try ProjectionQuarantine(connection: connection, projection: name).entries()
                print("released \(released) stream(s); \(left.count) still quarantined")
                for entry in left { print("  \(entry.stream): \(entry.error)") }
            } else {
                let flagged = try ProjectionQuarantine(connection: connection, projection: name).requestRetry()
                print("a running service leads \(name): it will retry \(flagged) quarantined stream(s); see `projections status`")
            }
        }
    }
}

/// Whether no running service leads the projection right now (its advisory lock is free).
private func isLeaderless(_ name: String, on connection: PostgresConnection) throws -> Bool {
    let key = PostgresValue.text(ProjectionRunner.lockKey(for: name))
    guard try connection.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))::text", [key]).scalar == "true" else { return false }
    try connection.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key])
    return true
}

private func resolve(_ name: String, _ options: PolicyOptions) throws -> any Projection {
    let policy = try options.load()
    guard let projection = ProjectionCatalog.named(name, policy: policy) else {
        throw ValidationError("no projection named \(name); known: \(ProjectionCatalog.all(policy: policy).map(\.name).joined(separator: ", "))")
    }
    return projection
}

private func progressBar(_ done: Int, of total: Int, since started: ContinuousClock.Instant) {
    let fraction = total == 0 ? 1 : min(Double(done) / Double(total), 1)
    let filled = Int(fraction * 30)
    let elapsed = started.duration(to: .now).inSeconds
    let rate = elapsed > 0 ? Int(Double(done) / elapsed) : 0
    let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
    FileHandle.standardError.write(Data("\r[\(bar)] \(Int(fraction * 100))% \(done)/\(total) events, \(rate)/s".utf8))
}
