import CallAuditDomain
import CallAuditIntegrity
import CallAuditQueries
import CallAuditSigning
import CallAuditStore
import Crypto

/// Makes a report version: reads every section in one snapshot, builds the
/// document, signs its RFC 8785 canonical bytes and stores the version.
///
/// A report is an audit record: a version is written once and never changed.
/// When a period's findings change after its report was issued, the next
/// version carries a `changes` section against the previous one.
package struct ReportGenerator {
    package enum Status: String, Sendable, Codable {
        /// A scheduled report of a closed period.
        case final
        /// Asked for on demand: its period may still receive events.
        case provisional
    }

    let connection: PostgresConnection
    let policy: Policy
    let signingKey: SigningKey
    let clock: @Sendable () -> Timestamp
    /// Where a second session can be opened to read the findings in parallel; nil reads them on `connection`.
    let helper: DatabaseConfiguration?
    /// The scheduler's leadership: a final report is stored only while it still leads (checked before COMMIT).
    package var fence: LeadershipFence?

    package init(
        connection: PostgresConnection, policy: Policy, signingKey: SigningKey, helper: DatabaseConfiguration? = nil,
        clock: @escaping @Sendable () -> Timestamp = { .now }
    ) {
        self.connection = connection
        self.policy = policy
        self.signingKey = signingKey
        self.helper = helper
        self.clock = clock
    }

    /// The next version of `period`'s report (the first if there is none).
    @discardableResult
    package func generate(_ period: ReportPeriod, status: Status) throws -> StoredReport {
        // Seal every settled event first, so the seal that covers the report exists when it is named.
        try Sealer(connection: connection).sealDue(key: signingKey, force: true)
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            let report = try generateInSnapshot(period, status: status)
            try fence?.check(on: connection)
            try connection.execute("COMMIT")
            return report
        } catch {
            if connection.isHealthy { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// The seal that covers the log up to `cursor`, as the report names it; nil if none does yet.
    private func sealReference(_ cursor: LogCursor) throws -> ReportDocument.SealReference? {
        guard cursor != .start, let seal = try SealStore(connection: connection).covering(cursor) else { return nil }
        return ReportDocument.SealReference(
            seal: seal.sealNo, sha256: seal.hash.hexString, merkleRoot: seal.merkleRoot.hexString, throughPosition: seal.through.position,
            keyID: seal.keyID)
    }

    private func generateInSnapshot(_ period: ReportPeriod, status: Status) throws -> StoredReport {
        let store = ReportStore(connection: connection)
        let previous = try store.report(period.reportID)
        let version = (previous?.version ?? 0) + 1
        let sources = ReportSources(connection: connection, policy: policy, period: period)
        let coverage = try sources.coverage()
        let generatedAt = clock()
        // The findings are read on a second session that shares this snapshot, while this one reads the rest.
        let listing = try FindingListing.start(period, sharing: connection, helper: helper)
        let calls = try sources.calls()
        let deletions = try sources.deletions()
        let retention = try sources.retention(deletions: deletions)
        let accessReview = try sources.accessReview()
        let gaps = try sources.gaps()
        let uses = try sources.uses()
        let requests = try sources.requests()
        let openHolds = try sources.openHolds()
        let days = try sources.days()
        let findings = try listing.wait()

        var document = ReportDocument(
            // What the document is, inside the signed bytes: the same key signs seals and export manifests.
            type: DocumentKind.report.rawValue, reportID: period.reportID, kind: period.kind, version: version, status: status,
            period: .init(from: period.start.rfc3339, to: period.end.rfc3339, timeZone: period.timeZone),
            generatedAt: generatedAt.rfc3339, policy: .init(version: policy.version, hash: policy.hash),
            eventStore: .init(
                through: coverage.cursor.description, throughPosition: coverage.cursor.position, eventsApplied: coverage.eventsApplied,
                seal: try sealReference(coverage.cursor)),
            accessReview: accessReview, retention: retention, gapsInEvidence: gaps,
            summary: Self.summary(calls: calls, uses: uses, deletions: deletions, requests: requests, openHolds: openHolds, findings: findings),
            daily: Self.daily(days, calls: calls), findings: findings, changes: nil)
        if let previous {
            document.changes = try Self.changes(since: previous, findings: findings)
        }
        let body = try document.canonicalBytes()
        let report = StoredReport(
            reportID: period.reportID, version: version, kind: period.kind, status: status.rawValue, periodStart: period.start,
            periodEnd: period.end, timeZone: period.timeZone, generatedAt: generatedAt, body: body, signature: try signingKey.sign(body, as: .report),
            findingsDigest: ReportSources.digest(of: findings), findings: findings.count, throughPosition: coverage.cursor.position,
            bodySHA256: Array(SHA256.hash(data: body)).hexString)
        guard try store.insert(report) else {
            // Another instance issued this version first: theirs stands.
            guard let theirs = try store.report(period.reportID, version: version) else { throw ReportVersionVanished(reportID: period.reportID) }
            return theirs
        }
        return report
    }

    static func summary(
        calls: [PeriodActivity.Calls], uses: [ReportDocument.UseCount], deletions: ReportSources.Deletions,
        requests: ReportDocument.SubjectRequests, openHolds: Int, findings: [FindingRow]
    ) -> ReportDocument.Summary {
        let byRegime = Dictionary(grouping: calls.filter { $0.recorded > 0 }, by: \.regime)
        return ReportDocument.Summary(
            calls: calls.reduce(0) { $0 + $1.calls }, recordedCalls: calls.reduce(0) { $0 + $1.recorded },
            complianceByRegime: byRegime.sorted { $0.key < $1.key }.map { regime, counts in
                let (recorded, compliant) = (counts.reduce(0) { $0 + $1.recorded }, counts.reduce(0) { $0 + $1.compliant })
                return .init(regime: regime, recordedCalls: recorded, compliantCalls: compliant, complianceRate: rate(compliant, of: recorded))
            },
            usesByRoleAndPurpose: uses, deletions: deletions.summary, subjectRequests: requests, openHolds: openHolds,
            findings: findings.count, findingsByRule: Dictionary(grouping: findings, by: \.rule).mapValues(\.count))
    }

    /// Calls, recorded calls and compliant calls on each day of the period, every day present.
    static func daily(_ days: [String], calls: [PeriodActivity.Calls]) -> [ReportDocument.Day] {
        let byDay = Dictionary(grouping: calls, by: \.day)
        return days.map { day in
            let counts = byDay[day] ?? []
            let (total, recorded, compliant) = (counts.reduce(0) { $0 + $1.calls }, counts.reduce(0) { $0 + $1.recorded }, counts.reduce(0) { $0 + $1.compliant })
            return .init(day: day, calls: total, recordedCalls: recorded, compliantCalls: compliant, complianceRate: rate(compliant, of: recorded))
        }
    }

    /// What the period's findings gained, lost and changed since the previous version,
    /// comparing each finding's canonical bytes.
    static func changes(since previous: StoredReport, findings: [FindingRow]) throws -> ReportDocument.Changes {
        func keyed(_ findings: [FindingRow]) -> [String: (row: FindingRow, bytes: [UInt8])] {
            Dictionary(findings.map { row -> (String, (row: FindingRow, bytes: [UInt8])) in
                var bytes: [UInt8] = []
                row.writeCanonical(into: &bytes)
                return (row.findingKey, (row: row, bytes: bytes))
            }) { first, _ in first }
        }
        let before = keyed(try ReportDocument(decoding: previous.body).findings)
        let after = keyed(findings)
        var raised: [ReportDocument.Change] = [], changed: [ReportDocument.Change] = []
        for (key, now) in after.sorted(by: { $0.key < $1.key }) {
            if let old = before[key] {
                if old.bytes != now.bytes { changed.append(.init(now.row)) }
            } else {
                raised.append(.init(now.row))
            }
        }
        let withdrawn = before.filter { after[$0.key] == nil }.sorted { $0.key < $1.key }.map { ReportDocument.Change($0.value.row) }
        return .init(previousVersion: previous.version, raised: raised, withdrawn: withdrawn, changed: changed)
    }

    /// `part` over `whole` to four places; nil when `whole` is zero.
    static func rate(_ part: Int, of whole: Int) -> Double? {
        whole == 0 ? nil : (Double(part) / Double(whole) * 10_000).rounded() / 10_000
    }
}

/// A version another instance stored first and that cannot be read back.
struct ReportVersionVanished: Error, CustomStringConvertible {
    var reportID: String
    var description: String { "report \(reportID): a version stored by another instance could not be read back" }
}
