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

    /// The seal that covers the log up to `cursor`, as the report names it; null if none does yet.
    private func sealReference(_ cursor: LogCursor) throws -> JSONValue {
        guard cursor != .start, let seal = try SealStore(connection: connection).covering(cursor) else { return .null }
        return [
            "seal": .number(Double(seal.sealNo)), "sha256": .string(seal.hash.hexString), "merkle_root": .string(seal.merkleRoot.hexString),
            "through_position": .number(Double(seal.through.position)), "key_id": .string(seal.keyID),
        ]
    }

    private func generateInSnapshot(_ period: ReportPeriod, status: Status) throws -> StoredReport {
        let store = ReportStore(connection: connection)
        let previous = try store.report(period.reportID)
        let version = (previous?.version ?? 0) + 1
        let sources = ReportSources(connection: connection, policy: policy, period: period)
        let coverage = try sources.coverage()
        let generatedAt = clock()
        // The findings are read and encoded on a second session that shares this snapshot, while this one reads the rest.
        let listing = try FindingListing.start(period, sharing: connection, helper: helper)
        let calls = try sources.calls()

        var document: [(key: String, value: CanonicalObject.Member)] = [
            // What the document is, inside the signed bytes: the same key signs seals and export manifests.
            (DocumentKind.member, .value(.string(DocumentKind.report.rawValue))),
            ("report_id", .value(.string(period.reportID))), ("kind", .value(.string(period.kind.rawValue))),
            ("version", .value(.number(Double(version)))), ("status", .value(.string(status.rawValue))),
            ("period", .value(["from": .string(period.start.rfc3339), "to": .string(period.end.rfc3339), "time_zone": .string(period.timeZone)])),
            ("generated_at", .value(.string(generatedAt.rfc3339))),
            ("policy", .value(["version": .string(policy.version), "hash": .string(policy.hash)])),
            ("event_store", .value([
                "through": .string(coverage.cursor.description), "through_position": .number(Double(coverage.cursor.position)),
                "events_applied": .number(Double(coverage.eventsApplied)), "seal": try sealReference(coverage.cursor),
            ])),
            ("access_review", .value(.array(try sources.accessReview().map { reviewer in
                ["actor_id": .string(reviewer.actorID), "role": .string(reviewer.role), "accesses": .number(Double(reviewer.accesses)),
                 "shares": .number(Double(reviewer.shares)), "recordings": .number(Double(reviewer.recordings)),
                 "purposes": .array(reviewer.purposes.map { .string($0) }), "flagged": .number(Double(reviewer.flagged)),
                 "role_allowed": .bool(policy.allowedAccessRoles.contains(reviewer.role))]
            }))),
            ("retention", .value(try retention(sources))),
            // Evidence CallAudit knows it never received (accepted Kafka gaps): an empty list says none.
            ("gaps_in_evidence", .value(.array(try sources.gaps()))),
        ]
        let summary = try summary(sources, calls: calls)
        let (rows, findings) = try listing.wait()
        document += [
            ("summary", .value(summary.adding(findings: rows))),
            ("daily", .value(daily(sources.days, calls: calls))),
            // A month holds tens of thousands of findings: written straight to bytes, not built as values.
            ("findings", .encoded(Self.array(findings.map(\.bytes)))),
        ]
        if let previous {
            document.append(("changes", .value(try changes(since: previous, findings: findings))))
        }
        let body = CanonicalObject.bytes(document)
        let report = StoredReport(
            reportID: period.reportID, version: version, kind: period.kind, status: status.rawValue, periodStart: period.start,
            periodEnd: period.end, timeZone: period.timeZone, generatedAt: generatedAt, body: body, signature: try signingKey.sign(body, as: .report),
            findingsDigest: ReportSources.digest(of: rows), findings: rows.count, throughPosition: coverage.cursor.position,
            bodySHA256: Array(SHA256.hash(data: body)).hexString)
        guard try store.insert(report) else {
            // Another instance issued this version first: theirs stands.
            return try store.report(period.reportID, version: version)!
        }
        return report
    }

    private func summary(_ sources: ReportSources, calls: [ReportSources.CallCount]) throws -> Summary {
        let deletions = try sources.deletions()
        let requests = try sources.requests()
        let byRegime = Dictionary(grouping: calls.filter { $0.recorded > 0 }, by: \.regime)
        return Summary(value: [
            "calls": .number(Double(calls.reduce(0) { $0 + $1.calls })), "recorded_calls": .number(Double(calls.reduce(0) { $0 + $1.recorded })),
            "compliance_by_regime": .array(byRegime.sorted { $0.key < $1.key }.map { regime, counts in
                let (recorded, compliant) = (counts.reduce(0) { $0 + $1.recorded }, counts.reduce(0) { $0 + $1.compliant })
                return ["regime": .string(regime), "recorded_calls": .number(Double(recorded)), "compliant_calls": .number(Double(compliant)),
                        "compliance_rate": rate(compliant, of: recorded)]
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
        ])
    }

    /// Calls, recorded calls and compliant calls on each day of the period, every day present.
    private func daily(_ days: [String], calls: [ReportSources.CallCount]) -> JSONValue {
        let byDay = Dictionary(grouping: calls, by: \.day)
        return .array(days.map { day in
            let counts = byDay[day] ?? []
            let (total, recorded, compliant) = (counts.reduce(0) { $0 + $1.calls }, counts.reduce(0) { $0 + $1.recorded }, counts.reduce(0) { $0 + $1.compliant })
            return ["day": .string(day), "calls": .number(Double(total)), "recorded_calls": .number(Double(recorded)),
                    "compliant_calls": .number(Double(compliant)), "compliance_rate": rate(compliant, of: recorded)]
        })
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

    /// What the period's findings gained, lost and changed since the previous version,
    /// comparing each finding's canonical bytes.
    private func changes(since previous: StoredReport, findings: [(key: String, bytes: [UInt8])]) throws -> JSONValue {
        var before: [String: JSONValue] = [:]
        for finding in try JSONParser.parse(previous.body)["findings"]?.arrayValue ?? [] {
            before[finding["finding_key"]?.stringValue ?? ""] = finding
        }
        let after = Dictionary(findings.map { ($0.key, $0.bytes) }) { first, _ in first }
        func entry(_ key: String, _ finding: JSONValue) -> JSONValue {
            ["finding_key": .string(key), "rule": finding["rule"] ?? .null, "occurred_at": finding["occurred_at"] ?? .null]
        }
        var raised: [JSONValue] = [], changed: [JSONValue] = []
        for key in after.keys.sorted() {
            if let old = before[key] {
                if old.canonicalBytes != after[key]! { changed.append(entry(key, try JSONParser.parse(after[key]!))) }
            } else {
                raised.append(entry(key, try JSONParser.parse(after[key]!)))
            }
        }
        let withdrawn = before.keys.filter { after[$0] == nil }.sorted().map { entry($0, before[$0]!) }
        return [
            "previous_version": .number(Double(previous.version)), "raised": .array(raised), "withdrawn": .array(withdrawn),
            "changed": .array(changed),
        ]
    }

    /// The summary but for the findings, which arrive last.
    struct Summary {
        var value: JSONValue

        func adding(findings: [FindingRow]) -> JSONValue {
            guard case .object(var members) = value else { return value }
            let byRule = Dictionary(grouping: findings, by: \.rule).mapValues(\.count)
            members.append((key: "findings", value: .number(Double(findings.count))))
            members.append((key: "findings_by_rule", value: .object(byRule.sorted { $0.key < $1.key }.map { (key: $0.key, value: .number(Double($0.value))) })))
            return .object(members)
        }
    }

    /// A JSON array of already-encoded elements.
    private static func array(_ elements: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(elements.reduce(2) { $0 + $1.count + 1 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: element)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    private func rate(_ part: Int, of whole: Int) -> JSONValue {
        whole == 0 ? .null : .number((Double(part) / Double(whole) * 10_000).rounded() / 10_000)
    }
}
