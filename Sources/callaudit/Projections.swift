import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditProjections
import CallAuditQueries
import CallAuditStore
import Foundation
import Logging

struct Projections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect, rebuild and un-quarantine projections.",
        subcommands: [Status.self, Rebuild.self, Retry.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checkpoint, lag and quarantined streams of every projection, and what holds back their horizon.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Warn when the oldest open transaction is older than this many seconds.")
        var warnAfter = Int(ProjectionConfiguration().horizonWarning.wholeSeconds)

        func run() throws {
            let connection = try database.connect()
            // A restored store whose clock was not moved on reads new events as older than every
            // checkpoint: the counts below would say "0 behind" whatever waits.
            if let top = try LogClock.behind(on: connection) {
                print("WARNING: \(LogClock.behindMessage(top)); until then no projection reads new events")
            }
            let status = try ReadSide(connection: connection).projectionStatus(ProjectionCatalog.names)
            print(pad("projection", 20) + pad("checkpoint", 20) + pad("applied", 12) + pad("behind", 10) + "updated")
            for projection in status.projections {
                print(pad(projection.name, 20) + pad(projection.cursor.description, 20) + pad(String(projection.eventsApplied), 12)
                    + pad(String(projection.behind), 10) + (projection.updatedAt ?? "never")
                    + (projection.rebuildRequested ? " (rebuild requested)" : ""))
                for entry in projection.quarantined {
                    print("  quarantined \(entry.stream) at \(entry.cursor) since \(entry.quarantinedAt)\(entry.retryRequested ? " (retry requested)" : ""): \(entry.error)")
                }
            }
            guard let holder = status.horizonHolder else {
                print("horizon: no transaction holds it back")
                return
            }
            let waiting = status.projections.map(\.waitingBehindHorizon).max() ?? 0
            print("horizon: held by \(holder.summary); \(waiting) committed event(s) wait behind it")
            if holder.age >= .seconds(warnAfter) {
                print("WARNING: projections cannot read events committed after this transaction began until it ends; "
                    + "end it (pg_terminate_backend(\(holder.pid.map(String.init) ?? "…")) or COMMIT/ROLLBACK PREPARED) if it is stuck")
            }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a projection from the whole log into fresh tables and swap them in.",
            discussion: """
                Readers keep seeing the current projection until the swap. When a running service leads the \
                projection, it is asked to rebuild it; otherwise this command does, with a progress bar.
                """)
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Projection name (see `projections status`).") var name: String
        @OptionGroup var policy: PolicyOptions
        @Option(help: "Events per transaction when rebuilding batch by batch (a projection that cannot fold the log in one read, or a log with a poison event).")
        var batchSize = ProjectionConfiguration().batchSize

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size (projections.batchSize) must be at least 1") }
        }

        func run() throws {
            let projection = try resolve(name, policy)
            let connection = try database.connect()
            guard try ProjectionRunner.isLeaderless(name, on: connection) else {
                try ProjectionCheckpoints(connection: connection).requestRebuild(name)
                print("a running service leads \(name): it will rebuild it; `projections status` shows when it is done")
                return
            }
            let total = try EventLog(connection: connection).count(after: .start)
            let runner = ProjectionRunner(
                projection: projection,
                configuration: ProjectionConfiguration(database: try database.configuration().forMaintenance, batchSize: batchSize),
                logger: Logger(label: "rebuild") { _ in SwiftLogNoOpLogHandler() })
            let started = ContinuousClock.now
            let progress = Progress("rebuild \(name)", total: total, unit: "events")
            let outcome = try runner.rebuild { progress.update($0) }
            progress.finish(outcome.events)
            if let reason = outcome.fallbackReason { print("the folded rebuild met bad input (\(reason)); rebuilt batch by batch instead") }
            let seconds = max(started.duration(to: .now).inSeconds, 0.001)
            print(
                "rebuilt \(projection.name)\(outcome.folded ? " in one read" : ""): \(outcome.events) events in \(String(format: "%.1f", seconds)) s"
                    + " (\(Int(Double(outcome.events) / seconds)) events/s)")
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-apply a projection's quarantined streams after a fix.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Projection name.") var name: String
        @OptionGroup var policy: PolicyOptions

        func run() throws {
            let projection = try resolve(name, policy)
            let connection = try database.connect()
            if try ProjectionRunner.isLeaderless(name, on: connection) {
                let runner = ProjectionRunner(
                    projection: projection, configuration: ProjectionConfiguration(database: try database.configuration()),
                    logger: Logger(label: "retry") { _ in SwiftLogNoOpLogHandler() })
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

private func resolve(_ name: String, _ options: PolicyOptions) throws -> any Projection {
    let policy = try options.load()
    guard let projection = ProjectionCatalog.named(name, policy: policy) else {
        throw ValidationError("no projection named \(name); known: \(ProjectionCatalog.names.joined(separator: ", "))")
    }
    return projection
}
