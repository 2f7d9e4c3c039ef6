import CallAuditDomain
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
    package enum Status: String, Sendable {
        /// A scheduled report of a closed period.
        case final
        /// Asked for on demand: its period may still receive events.
        case provisional
    }

    let connection: PostgresConnection
    let policy: Policy
    let signingKey: SigningKey
    let clock: @Sendable () -> Timestamp

    package init(connection: PostgresConnection, policy: Policy, signingKey: SigningKey, clock: @escaping @Sendable () -> Timestamp = { .now }) {
        self.connection = connection
        self.policy = policy
        self.signingKey = signingKey
        self.clock = clock
    }

    /// The next version of `period`'s report (the first if there is none).
    @discardableResult
    package func generate(_ period: ReportPeriod, status: Status) throws -> StoredReport {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        do {
            let report = try generateInSnapshot(period, status: status)
            try connection.execute("COMMIT")
            return report
        } catch {
            if connection.isHealthy { try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    private func generateInSnapshot(_ period: ReportPeriod, status: Status) throws -> StoredReport {
        let store = ReportStore(connection: connection)
        let previous = try store.report(period.reportID)
        let version = (previous?.version ?? 0) + 1
        let sources = ReportSources(connection: connection, policy: policy, period: period)
        let (digest, count) = try sources.findingsDigest()
        let coverage = try sources.coverage()
        let generatedAt = clock()
        var findings: [JSONValue] = []
        try ReadSide(connection: connection).findings(FindingQuery(from: period.start, to: period.end)) { findings.append($0.json) }

        var document: [(key: String, value: JSONValue)] = [
            ("report_id", .string(period.reportID)), ("kind", .string(period.kind.rawValue)), ("version", .number(Double(version))),
            ("status", .string(status.rawValue)),
            ("period", ["from": .string(period.start.rfc3339), "to": .string(period.end.rfc3339), "time_zone": .string(period.timeZone)]),
            ("generated_at", .string(generatedAt.rfc3339)),
            ("policy", ["version": .string(policy.version), "hash": .string(policy.hash)]),
            ("event_store", [
                "through": .string(coverage.cursor.description), "through_position": .number(Double(coverage.cursor.position)),
                "events_applied": .number(Double(coverage.eventsApplied)), "seal": .null,
            ]),
            ("summary", try summary(sources, findings: findings)),
            ("daily", .array(try sources.daily().map { day in
                ["day": .string(day.day), "calls": .number(Double(day.calls)), "recorded_calls": .number(Double(day.recorded)),
                 "compliant_calls": .number(Double(day.compliant)), "compliance_rate": rate(day.compliant, of: day.recorded)]
            })),
            ("findings", .array(findings)),
            ("access_review", .array(try sources.accessReview().map { reviewer in
                ["actor_id": .string(reviewer.actorID), "role": .string(reviewer.role), "accesses": .number(Double(reviewer.accesses)),
                 "shares": .number(Double(reviewer.shares)), "recordings": .number(Double(reviewer.recordings)),
                 "purposes": .array(reviewer.purposes.map { .string($0) }), "flagged": .number(Double(reviewer.flagged)),
                 "role_allowed": .bool(policy.allowedAccessRoles.contains(reviewer.role))]
            })),
            ("retention", try retention(sources)),
        ]
        if let previous {
            document.append(("changes", try changes(since: previous, findings: findings)))
        }
        let body = JSONValue.object(document).canonicalBytes
        let report = StoredReport(
            reportID: period.reportID, version: version, kind: period.kind, status: status.rawValue, periodStart: period.start,
            periodEnd: period.end, timeZone: period.timeZone, generatedAt: generatedAt, body: body, signature: try signingKey.sign(body),
            findingsDigest: digest, findings: count, throughPosition: coverage.cursor.position,
            bodySHA256: Array(SHA256.hash(data: body)).hexString)
        guard try store.insert(report) else {
            // Another instance issued this version first: theirs stands.
            return try store.report(period.reportID, version: version)!
        }
        return report
    }

    private func summary(_ sources: ReportSources, findings: [JSONValue]) throws -> JSONValue {
        let calls = try sources.calls()
        let deletions = try sources.deletions()
        let requests = try sources.requests()
        var byRule: [String: Int] = [:]
        for finding in findings { byRule[finding["rule"]?.stringValue ?? "", default: 0] += 1 }
        return [
            "calls": .number(Double(calls.calls)), "recorded_calls": .number(Double(calls.recorded)),
            "compliance_by_regime": .array(try sources.complianceByRegime().map { regime in
                ["regime": .string(regime.regime), "recorded_calls": .number(Double(regime.recorded)),
                 "compliant_calls": .number(Double(regime.compliant)), "compliance_rate": rate(regime.compliant, of: regime.recorded)]
            }),
            "uses_by_role_and_purpose": .array(try sources.uses().map { use in
                ["kind": .string(use.kind), "role": .string(use.role), "purpose": use.purpose.map { .string($0) } ?? .null,
                 "count": .number(Double(use.count))]
            }),
            "deletions": [
                "total": .number(Double(deletions.total)), "on_time": .number(Double(deletions.onTime)), "late": .number(Double(deletions.late)),
            ],
            "subject_requests": [
                "received": .number(Double(requests.received)), "answered": .number(Double(requests.answered)),
                "overdue": .number(Double(requests.overdue)),
            ],
            "open_holds": .number(Double(try sources.openHolds())),
            "findings": .number(Double(findings.count)),
            "findings_by_rule": .object(byRule.sorted { $0.key < $1.key }.map { (key: $0.key, value: .number(Double($0.value))) }),
        ]
    }

    private func retention(_ sources: ReportSources) throws -> JSONValue {
        let retention = try sources.retention()
        let deletions = try sources.deletions()
        return [
            "retention_days": .number(Double(policy.retentionDays)),
            "due_in_period": .number(Double(retention.due)), "deleted_on_time": .number(Double(retention.deletedOnTime)),
            "deleted_late": .number(Double(retention.deletedLate)), "not_deleted": .number(Double(retention.notDeleted)),
            "held_at_due": .number(Double(retention.heldAtDue)),
            "deletions": .array(deletions.byReason.map { entry in
                ["reason": .string(entry.reason), "method": .string(entry.method), "count": .number(Double(entry.count))]
            }),
        ]
    }

    /// What the period's findings gained, lost and changed since the previous version.
    private func changes(since previous: StoredReport, findings: [JSONValue]) throws -> JSONValue {
        let before = Dictionary(
            (try JSONParser.parse(previous.body)["findings"]?.arrayValue ?? []).map { ($0["finding_key"]?.stringValue ?? "", $0) }
        ) { first, _ in first }
        let after = Dictionary(findings.map { ($0["finding_key"]?.stringValue ?? "", $0) }) { first, _ in first }
        func entries(_ keys: [String], from side: [String: JSONValue]) -> JSONValue {
            .array(keys.sorted().map { key in
                let finding = side[key]!
                return ["finding_key": .string(key), "rule": finding["rule"] ?? .null, "occurred_at": finding["occurred_at"] ?? .null]
            })
        }
        return [
            "previous_version": .number(Double(previous.version)),
            "raised": entries(after.keys.filter { before[$0] == nil }, from: after),
            "withdrawn": entries(before.keys.filter { after[$0] == nil }, from: before),
            "changed": entries(after.keys.filter { before[$0] != nil && before[$0] != after[$0] }, from: after),
        ]
    }

    private func rate(_ part: Int, of whole: Int) -> JSONValue {
        whole == 0 ? .null : .number((Double(part) / Double(whole) * 10_000).rounded() / 10_000)
    }
}
