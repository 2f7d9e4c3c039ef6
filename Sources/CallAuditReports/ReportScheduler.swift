import CallAuditDomain
import CallAuditQueries
import CallAuditRuntime
import CallAuditSigning
import CallAuditStore
import Foundation
import Logging

/// When and how reports are issued on their own.
package struct ReportSchedule: Sendable {
    /// The zone whose calendar days, weeks, months and quarters reports cover. Default UTC.
    package var timeZone: String
    /// How long after its end a period is closed and reported, for late events. Default 72 h.
    package var closeDelay: Duration
    /// How often the scheduler looks for closed periods and changed findings. Default 60 s.
    package var interval: Duration

    package init(timeZone: String = "UTC", closeDelay: Duration = .seconds(72 * 3_600), interval: Duration = .seconds(60)) {
        self.timeZone = timeZone
        self.closeDelay = closeDelay
        self.interval = interval
    }
}

extension ReportSchedule {
    /// The closed periods (day, week, month, quarter since the log's first
    /// day) that have no report yet: what the scheduler issues next, and what
    /// operations alert on when it stays non-empty.
    package func unissued(on connection: PostgresConnection, now: Timestamp, zone: TimeZone) throws -> [ReportPeriod] {
        guard let firstDay = try ReadSide(connection: connection).firstDayWithEvents() else { return [] }
        guard let first = Timestamp(rfc3339: firstDay + "T00:00:00Z") else { throw ConfigurationProblem("the first day of the log is not a date") }
        var unissued: [ReportPeriod] = []
        for kind in ReportPeriod.Kind.scheduled {
            let closed = ReportPeriod.closed(kind, since: first, now: now, closeDelay: closeDelay, zone: zone)
            let existing = try ReportStore(connection: connection).existing(closed.map(\.reportID))
            unissued += closed.filter { !existing.contains($0.reportID) }
        }
        return unissued
    }
}

/// Issues a final report for every closed day, ISO week, month and quarter
/// since the log began, and a new version of a closed period's report when
/// later events change its findings (seen through `finding_changes`).
///
/// One instance schedules at a time (a `Leadership`), like a projection: a
/// scheduler that was frozen and superseded stores no report when it resumes.
/// It waits until the compliance and activity projections have read every
/// settled event, so a report never describes a half-applied log. Failures
/// are classified as everywhere else: transient ones are retried next round,
/// fatal ones stop the service.
package final class ReportScheduler: @unchecked Sendable {
    private let schedule: ReportSchedule
    private let database: DatabaseConfiguration
    private let policy: Policy
    private let keyDirectory: URL
    private let logger: Logger
    private let clock: @Sendable () -> Timestamp
    private let stop = StopSignal()
    private let canceller = CancelSlot()
    /// No grace: a report cut short is issued whole by the next round, here or on another instance.
    private let cancellation: ShutdownCancellation
    private var connection: PostgresConnection?
    private lazy var leadership = Leadership(name: "callaudit.reports", database: database, application: "callaudit-reports-leader", logger: logger)
    /// The leadership the connection works under; nil while standing by.
    private var fence: LeadershipFence?

    package init(
        schedule: ReportSchedule, database: DatabaseConfiguration, policy: Policy, keyDirectory: URL, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp = { .now }
    ) {
        self.schedule = schedule
        self.database = database
        self.policy = policy
        self.keyDirectory = keyDirectory
        self.logger = logger
        self.clock = clock
        cancellation = ShutdownCancellation(grace: .zero, slots: [canceller])
    }

    package func requestStop() {
        guard stop.signal() else { return }
        cancellation.begin()
    }

    private var stopping: Bool { stop.isSignalled }

    /// Schedules until `requestStop`; throws only what cannot be retried.
    package func run() throws {
        defer {
            dropConnection()
            cancellation.end()
        }
        while !stopping {
            do {
                let issued = try runOnce()
                if !issued.isEmpty {
                    logger.info("reports issued", metadata: ["reports": "\(issued.map { "\($0.reportID) v\($0.version)" }.joined(separator: ", "))"])
                }
            } catch is StopRequested {
                return
            } catch {
                if case .fatal(let remedy) = FailureClass(of: error), error is PostgresError {
                    throw ReportFailure(error: error, remedy: remedy)
                }
                dropConnection()
                logger.warning("report scheduling failed; retrying next round", metadata: ["error": "\(error)"])
            }
            stop.wait(for: schedule.interval)
        }
    }

    /// One round: reports for newly closed periods, new versions for changed ones. Returns what it issued.
    @discardableResult
    package func runOnce() throws -> [StoredReport] {
        let connection = try leaderConnection()
        guard let zone = TimeZone(identifier: schedule.timeZone) else { throw ReportFailure.unknownZone(schedule.timeZone) }
        guard try projectionsCaughtUp(connection) else { return [] }
        // Read each round: a `callaudit keys rotate` takes effect without a restart.
        let signingKey = try KeyRing.open(keyDirectory).current
        var generator = ReportGenerator(connection: connection, policy: policy, signingKey: signingKey, helper: database, clock: clock)
        generator.fence = fence
        var issued: [StoredReport] = []
        for period in try schedule.unissued(on: connection, now: clock(), zone: zone) {
            guard !stopping else { return issued }
            issued.append(try generator.generate(period, status: .final))
        }
        issued += try reissueChanged(connection, generator: generator, zone: zone)
        issued += try reissueForGaps(connection, generator: generator)
        return issued
    }

    /// New versions of closed reports a newly accepted Kafka gap touches: they
    /// were issued before anyone knew their evidence was incomplete, and the
    /// next version lists the gap. The cursor is the log's horizon at the last
    /// round, not a position: positions are given at insert and commit out of
    /// order, so a gap committed after a later-numbered one would be passed
    /// over; every event below the horizon has committed, and none can join
    /// them there.
    private func reissueForGaps(_ connection: PostgresConnection, generator: ReportGenerator) throws -> [StoredReport] {
        let cursor = try connection.query("SELECT coalesce(max(last_change_id), 0) FROM report_schedule WHERE name = 'gaps'")
            .decodeScalar(UInt64.self)
        let horizon = try EventLog(connection: connection).horizon()
        let gaps = try AcceptedGaps(connection: connection).windows(committedFrom: cursor, below: horizon)
        let last = Int64(clamping: horizon)
        guard !gaps.isEmpty || cursor != UInt64(last) else { return [] }
        var issued: [StoredReport] = []
        var done: Set<String> = []
        for gap in gaps {
            for report in try ReportStore(connection: connection).finalReports(overlapping: gap.since, gap.acceptedAt.adding(.microseconds(1)))
            where !done.contains(report.reportID) {
                done.insert(report.reportID)
                guard try !lists(gap.gapID, report, on: connection) else { continue }
                if let next = try reissue(report, with: generator) { issued.append(next) }
            }
        }
        try connection.query(
            """
            INSERT INTO report_schedule (name, last_change_id, updated_at) VALUES ('gaps', $1, now())
            ON CONFLICT (name) DO UPDATE SET last_change_id = greatest(report_schedule.last_change_id, excluded.last_change_id), updated_at = now()
            """, [.int(last)])
        return issued
    }

    /// New versions of closed reports whose period's findings changed since the last round.
    private func reissueChanged(_ connection: PostgresConnection, generator: ReportGenerator, zone: TimeZone) throws -> [StoredReport] {
        let cursor = try connection.query("SELECT coalesce(max(last_change_id), 0) FROM report_schedule WHERE name = 'reports'")
            .decodeScalar(Int64.self)
        guard let changes = try ReadSide(connection: connection).findingChanges(after: cursor) else { return [] }
        let last = changes.lastID
        var issued: [StoredReport] = []
        for report in try ReportStore(connection: connection).finalReports(
            overlapping: changes.earliest, changes.latest.adding(.microseconds(1)))
        {
            let period = ReportPeriod(
                kind: report.kind, start: report.periodStart, end: report.periodEnd, timeZone: report.timeZone, reportID: report.reportID)
            let current = try ReportSources(connection: connection, policy: policy, period: period).findingsDigest()
            if current.digest != report.findingsDigest, let next = try reissue(report, with: generator) {
                issued.append(next)
            }
        }
        try connection.transaction {
            try connection.query(
                """
                INSERT INTO report_schedule (name, last_change_id, updated_at) VALUES ('reports', $1, now())
                ON CONFLICT (name) DO UPDATE SET last_change_id = greatest(report_schedule.last_change_id, excluded.last_change_id), updated_at = now()
                """, [.int(last)])
            try fence?.check(on: connection)
        }
        return issued
    }

    /// The next version of a closed report. One whose stored versions cannot be read
    /// (a broken row, a body that is no report) is logged and passed over: it must not
    /// stop every other report's new versions, round after round.
    private func reissue(_ report: StoredReport, with generator: ReportGenerator) throws -> StoredReport? {
        let period = ReportPeriod(
            kind: report.kind, start: report.periodStart, end: report.periodEnd, timeZone: report.timeZone, reportID: report.reportID)
        do {
            return try generator.generate(period, status: .final)
        } catch let error where Self.isUnreadableReport(error) {
            logger.error("report passed over: a stored version cannot be read", metadata: ["report": "\(report.reportID)", "error": "\(error)"])
            return nil
        }
    }

    package static func isUnreadableReport(_ error: any Error) -> Bool {
        if let decoding = error as? PostgresDecodingError { return !decoding.isSchemaDrift }
        return error is BrokenReportRow || error is DecodingError || error is ReportDocumentError
    }

    /// Whether the latest version of `report` already lists the gap (it was issued after the gap was accepted).
    private func lists(_ gapID: String, _ report: StoredReport, on connection: PostgresConnection) throws -> Bool {
        guard let stored = try? ReportStore(connection: connection).report(report.reportID, version: report.version),
            let document = try? ReportDocument(decoding: stored.body)
        else { return false }
        return document.gapsInEvidence?.contains { $0.gapID == gapID } ?? false
    }

    /// Whether the projections reports read have applied every settled event.
    private func projectionsCaughtUp(_ connection: PostgresConnection) throws -> Bool {
        let log = EventLog(connection: connection)
        let horizon = try log.horizon()
        for projection in ["compliance", "activity"] {
            let cursor = try ReadSide(connection: connection).checkpoint(of: projection)?.cursor ?? .start
            if try !log.read(after: cursor, below: horizon, limit: 1).isEmpty { return false }
        }
        return true
    }

    private func leaderConnection() throws -> PostgresConnection {
        if let connection, let fence, leadership.fence == fence { return connection }
        dropConnection()
        guard let acquired = leadership.acquire(pollEvery: schedule.interval, until: stop) else { throw StopRequested() }
        let candidate: PostgresConnection
        do {
            candidate = try database.connect(application: "callaudit-reports")
        } catch {
            leadership.release()
            throw error
        }
        canceller.hold(candidate)
        fence = acquired
        connection = candidate
        return candidate
    }

    /// Ends the working session and gives up leadership with it.
    private func dropConnection() {
        connection = nil
        fence = nil
        leadership.release()
    }
}

/// Why the report scheduler stopped, and what to do.
package struct ReportFailure: Error, CustomStringConvertible {
    var error: any Error
    var remedy: String

    static func unknownZone(_ zone: String) -> ReportFailure {
        ReportFailure(error: ConfigurationProblem("unknown time zone \(zone)"), remedy: "use an IANA zone name such as UTC or Europe/Berlin")
    }

    package var description: String { "reports: \(error): \(remedy)" }
}

struct ConfigurationProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
