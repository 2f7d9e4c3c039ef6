import ArgumentParser
import CallAuditDomain
import CallAuditIngest
import CallAuditProjections
import CallAuditSimulator
import CallAuditStore
import Foundation
import Logging
import Synchronization

/// Rebuild speed of each projection over a simulated log, and listing a month's findings.
struct ProjectionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Append a simulated log straight to the store, then time each projection's rebuild.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.2 events each).")
    var calls = 160_000

    @Option(help: "Events the compliance rebuild folds before writing them out (a small log takes the large log's path below it).")
    var eventsPerChunk = ComplianceRebuildLimits().eventsPerChunk

    @Option(help: "Facts the compliance rebuild reads back and judges at a time.")
    var factsPerPage = ComplianceRebuildLimits().factsPerPage

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        note("appending the log: \(calls) calls over 30 days")
        let appended = try appendSimulatedLog(url: url, calls: calls)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        print("machine:   \(machineDescription())")
        print("events:    \(appended) (\(calls) calls over 30 days)")
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        let limits = ComplianceRebuildLimits(eventsPerChunk: eventsPerChunk, factsPerPage: factsPerPage)
        let cluster = try PostgresConnection(conninfo: url)
        for projection in [DailyVolumeProjection(), ComplianceProjection(policy: .default, clock: { now }, rebuildLimits: limits)] as [any Projection] {
            let cpuBefore = (bench: processCPUSeconds(), postgres: try clusterCPUSeconds(cluster))
            let started = ContinuousClock.now
            let outcome = try ProjectionRunner(
                projection: projection, configuration: ProjectionConfiguration(database: DatabaseConfiguration(url: url).forMaintenance),
                logger: logger
            ).rebuild()
            let elapsed = started.duration(to: .now).inSeconds
            print(
                "rebuild \(pad(projection.name, 14)) \(outcome.events) events in \(String(format: "%.1f", elapsed)) s: "
                    + "\(Int(Double(outcome.events) / elapsed)) events/s\(outcome.folded ? " (folded in one read)" : "")")
            usleep(300_000)  // the rebuild's backends end after their connections close
            let bench = processCPUSeconds() - cpuBefore.bench, postgres = try clusterCPUSeconds(cluster) - cpuBefore.postgres
            let perEvent = { (seconds: Double) in String(format: "%.2f", seconds * 1e6 / Double(max(outcome.events, 1))) }
            print(
                "  CPU: bench process \(String(format: "%.2f", bench)) s (\(perEvent(bench)) µs/event), "
                    + "PostgreSQL \(String(format: "%.2f", postgres)) s (\(perEvent(postgres)) µs/event)")
        }
        let floor = try postgresFloor(url: url).inSeconds
        print(
            "PostgreSQL alone for the compliance rebuild's reads and writes: \(String(format: "%.1f", floor)) s "
                + "(at most \(Int(Double(appended) / floor)) events/s)")
        let connection = try PostgresConnection(conninfo: url)
        let started = ContinuousClock.now
        let rows = try connection.query(
            """
            SELECT occurred_at, rule, severity, call_id, recording_id, party_id, request_id, jurisdiction, citation, evidence, detail
            FROM findings WHERE occurred_at >= '2026-10-01' AND occurred_at < '2026-11-01' AND status = 'open' ORDER BY occurred_at, rule, id
            """)
        print("findings of the month: \(rows.count) listed in \(millis(started.duration(to: .now))) ms")
        print("peak RSS:  \(peakResidentMegabytes()) MB")
    }
}

/// What PostgreSQL alone spends on the compliance rebuild's I/O: psql reads
/// the log in rebuild order, then `\copy`s back every table the rebuild wrote,
/// as it wrote them, in a transaction it rolls back. No rebuild on this
/// database can be faster than this, whatever the Swift side does.
private func postgresFloor(url: String) throws -> Duration {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-floor-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let findingColumns = """
        rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation, evidence, detail,
        policy_version, policy_hash, fingerprint, finding_key, subject, status
        """.replacingOccurrences(of: "\n", with: " ")
    let tables = [
        ("compliance_calls", "*"), ("compliance_recordings", "*"), ("compliance_holds", "*"), ("compliance_requests", "*"),
        ("compliance_subject_calls", "*"), ("compliance_deadlines", "*"), ("findings", findingColumns),
    ]
    for (table, columns) in tables {
        try psql(url, "\\copy (SELECT \(columns) FROM \(table)) TO '\(scratch.path)/\(table)'")
    }
    let script = scratch.appendingPathComponent("floor.sql")
    try ([
        "\\copy (SELECT transaction_id, position, stream, type, event_time, event FROM events ORDER BY transaction_id, position) TO '/dev/null'",
        "BEGIN;",
        "TRUNCATE findings, \(tables.dropLast().map(\.0).joined(separator: ", "));",
    ] + tables.map { table, columns in
        "\\copy \(table) \(columns == "*" ? "" : "(\(columns))") FROM '\(scratch.path)/\(table)'"
    } + ["ROLLBACK;"]).joined(separator: "\n").write(to: script, atomically: true, encoding: .utf8)
    let started = ContinuousClock.now
    try psql(url, file: script.path)
    return started.duration(to: .now)
}

/// User and system CPU seconds of this process, every thread.
private func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
