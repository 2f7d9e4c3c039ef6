import ArgumentParser
import CallAuditDomain
import CallAuditProjections
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation
import Logging

/// A month's audit report over a large simulated log: how long generating,
/// signing and storing it takes once the projections are current.
struct ReportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Append a month of simulated calls, rebuild the projections, time the month's report.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Calls to simulate over October 2026 (about 6.4 events each).") var calls = 1_000_000
    @Option(help: "Times to generate the report: the first half as new reports, the rest as new versions of the month's.") var repeats = 6
    @Flag(help: "Use the log and projections already in the database (a previous run's) instead of loading them.") var existing = false

    func run() throws {
        let url = database.resolved
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        let appended = existing ? try PostgresConnection(conninfo: url).query("SELECT count(*) FROM events").scalar.flatMap { Int($0) } ?? 0 : try load(url, now: now)
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-keys-\(getpid())")
        defer { try? FileManager.default.removeItem(at: keys) }
        let generator = ReportGenerator(
            connection: try DatabaseConfiguration(url: url).forMaintenance.connect(), policy: .default, signingKey: try KeyRing.open(keys).current,
            helper: DatabaseConfiguration(url: url).forMaintenance, clock: { now })
        let month = ReportPeriod.containing(Timestamp(rfc3339: "2026-10-15T00:00:00Z")!, kind: .month, zone: TimeZone(identifier: "UTC")!)
        print("machine:  \(machineDescription())")
        print("events:   \(appended) (\(calls) calls over 30 days)")
        for run in 1...repeats {
            let started = ContinuousClock.now
            // The first version of a new report each time, then new versions of the month's (with a changes section).
            let period = run <= repeats / 2 ? ReportPeriod.custom(from: month.start, to: month.end, timeZone: "UTC") : month
            let report = try generator.generate(period, status: .final)
            let elapsed = started.duration(to: .now)
            print(
                "report \(report.reportID) v\(report.version): \(report.findings) findings, \(report.body.count / 1_000_000) MB of canonical JSON, "
                    + "generated, signed and stored in \(millis(elapsed)) ms\(run == 1 ? " (cold)" : "")")
        }
        print("peak RSS: \(peakResidentMegabytes()) MB")
    }

    private func load(_ url: String, now: Timestamp) throws -> Int {
        try requireEmptyStore(url)
        note("appending the log: \(calls) calls over 30 days")
        let appended = try appendSimulatedLog(url: url, calls: calls)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        for projection in [ComplianceProjection(policy: .default, clock: { now }), ActivityProjection(policy: .default)] as [any Projection] {
            note("rebuilding \(projection.name)")
            try ProjectionRunner(
                projection: projection, configuration: ProjectionConfiguration(database: DatabaseConfiguration(url: url).forMaintenance),
                logger: logger
            ).rebuild()
        }
        return appended
    }
}
