import CallAuditDomain
import CallAuditSigning
import CallAuditStore

/// One version of a report as stored: the signed canonical JSON and what is indexed about it.
package struct StoredReport: Sendable {
    package var reportID: String
    package var version: Int
    package var kind: ReportPeriod.Kind
    package var status: String
    package var periodStart: Timestamp
    package var periodEnd: Timestamp
    package var timeZone: String
    package var generatedAt: Timestamp
    /// RFC 8785 canonical JSON: exactly the bytes the signature covers.
    package var body: [UInt8]
    package var signature: DetachedSignature
    package var findingsDigest: String
    package var findings: Int
    package var throughPosition: Int64
    /// SHA-256 of `body`, hex.
    package var bodySHA256: String

    /// What listings show: everything but the body.
    package var listing: JSONValue {
        [
            "report_id": .string(reportID), "version": .number(Double(version)), "kind": .string(kind.rawValue), "status": .string(status),
            "period": ["from": .string(periodStart.rfc3339), "to": .string(periodEnd.rfc3339), "time_zone": .string(timeZone)],
            "generated_at": .string(generatedAt.rfc3339), "findings": .number(Double(findings)), "key_id": .string(signature.keyID),
            "sha256": .string(bodySHA256),
        ]
    }
}

/// The `audit_reports` record: each version inserted once, never changed.
package struct ReportStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    private static let columns = """
        report_id, version, kind, status, (extract(epoch FROM period_start) * 1000000)::bigint,
        (extract(epoch FROM period_end) * 1000000)::bigint, time_zone, (extract(epoch FROM generated_at) * 1000000)::bigint,
        signature, findings_digest, findings, through_position, encode(body_sha256, 'hex')
        """

    /// Stores a new version. False when that version already exists (another instance made it first).
    @discardableResult
    package func insert(_ report: StoredReport) throws -> Bool {
        do {
            try connection.query(
                """
                INSERT INTO audit_reports (report_id, version, kind, status, period_start, period_end, time_zone, generated_at, body,
                                           body_sha256, signature, key_id, findings_digest, findings, through_position)
                VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8::timestamptz, $9, decode($15, 'hex'), $10, $11, $12, $13, $14)
                """,
                [
                    .text(report.reportID), .int(report.version), .text(report.kind.rawValue), .text(report.status),
                    .text(report.periodStart.rfc3339), .text(report.periodEnd.rfc3339), .text(report.timeZone),
                    .text(report.generatedAt.rfc3339), .bytes(report.body), .text(report.signature.json.canonicalString),
                    .text(report.signature.keyID), .text(report.findingsDigest), .int(report.findings), .int(report.throughPosition),
                    .text(report.bodySHA256),
                ])
            return true
        } catch let error as PostgresError where error.sqlState == "23505" {
            return false
        }
    }

    /// The latest version, or version `version`, with its body.
    package func report(_ reportID: String, version: Int? = nil) throws -> StoredReport? {
        guard var report = try Self.decode(connection.query(
            """
            SELECT \(Self.columns) FROM audit_reports
            WHERE report_id = $1 AND ($2::integer IS NULL OR version = $2) ORDER BY version DESC LIMIT 1
            """, [.text(reportID), version.map { .int($0) } ?? .null]
        )).first else { return nil }
        // Read in binary: a month's body is megabytes. The column is NOT NULL, so a NULL here is a broken row.
        guard let body = try connection.bytes(
            "SELECT body FROM audit_reports WHERE report_id = $1 AND version = $2", [.text(reportID), .int(report.version)])
        else { throw BrokenReportRow(reportID: reportID, version: report.version, problem: "has no body") }
        report.body = body
        return report
    }

    /// The number of the latest version, nil if the report does not exist.
    package func latestVersion(_ reportID: String) throws -> Int? {
        try connection.query("SELECT max(version) FROM audit_reports WHERE report_id = $1", [.text(reportID)]).decodeScalar(Int?.self)
    }

    /// Where a page of `list` ends: the last report's period start and id.
    package struct ListPosition: Sendable, Equatable {
        package var periodStart: Timestamp
        package var reportID: String

        package init(periodStart: Timestamp, reportID: String) {
            self.periodStart = periodStart
            self.reportID = reportID
        }
    }

    /// The latest version of each report, filtered, newest period first (then by id), at most `limit`,
    /// after `after` (keyset: the period index is read backwards from there, never skipped through).
    /// Bodies are left out, and so is a row that cannot be read as a report: one such row must not hide every other.
    package func list(
        kind: ReportPeriod.Kind? = nil, from: Timestamp? = nil, to: Timestamp? = nil, status: String? = nil, after: ListPosition? = nil,
        limit: Int = 500
    ) throws -> [StoredReport] {
        var parameters: [PostgresValue] = [
            kind.map { .text($0.rawValue) } ?? .null, from.map { .text($0.rfc3339) } ?? .null, to.map { .text($0.rfc3339) } ?? .null,
            status.map { .text($0) } ?? .null, .int(limit),
        ]
        // Added only with a cursor, so the plan is a plain backward scan of audit_reports_period from there.
        var keyset = ""
        if let after {
            keyset = "AND r.period_start <= $6::timestamptz AND (r.period_start < $6::timestamptz OR r.report_id > $7)"
            parameters += [.text(after.periodStart.rfc3339), .text(after.reportID)]
        }
        return try Self.decode(skippingBroken: true, connection.query(
            """
            SELECT \(Self.columns) FROM audit_reports r
            WHERE NOT EXISTS (SELECT 1 FROM audit_reports n WHERE n.report_id = r.report_id AND n.version > r.version)
              AND ($1::text IS NULL OR r.kind = $1) AND ($2::timestamptz IS NULL OR r.period_end > $2)
              AND ($3::timestamptz IS NULL OR r.period_start < $3) AND ($4::text IS NULL OR r.status = $4) \(keyset)
            ORDER BY r.period_start DESC, r.report_id LIMIT $5
            """, parameters))
    }

    /// Every version of a report, newest first, without bodies; empty when there is no such report.
    package func versions(_ reportID: String) throws -> [StoredReport] {
        // A version that is not readable as a report is left out, as the lists leave it out.
        try Self.decode(skippingBroken: true, connection.query(
            "SELECT \(Self.columns) FROM audit_reports WHERE report_id = $1 ORDER BY version DESC", [.text(reportID)]))
    }

    /// Which of `ids` have at least one version.
    package func existing(_ ids: [String]) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try connection.query(
            "SELECT DISTINCT report_id FROM audit_reports WHERE report_id = ANY($1::text[])", [.text(postgresArrayLiteral(ids))]
        ).decode(String.self))
    }

    /// The latest version of every final report whose period overlaps [from, to).
    package func finalReports(overlapping from: Timestamp, _ to: Timestamp) throws -> [StoredReport] {
        try Self.decode(skippingBroken: true, connection.query(
            """
            SELECT \(Self.columns) FROM (
                SELECT DISTINCT ON (report_id) * FROM audit_reports
                WHERE status = 'final' AND period_start < $2::timestamptz AND period_end > $1::timestamptz
                ORDER BY report_id, version DESC
            ) latest ORDER BY period_start
            """, [.text(from.rfc3339), .text(to.rfc3339)]
        ))
    }

    /// Rows of `columns`, without bodies; with `skippingBroken`, rows that are not a readable report are left out.
    private static func decode(skippingBroken: Bool = false, _ rows: PostgresRows) throws -> [StoredReport] {
        try rows.typedRows.compactMap { row in
            do { return try decode(row) } catch is BrokenReportRow where skippingBroken {
                return nil
            } catch let error as PostgresDecodingError where skippingBroken && !error.isSchemaDrift {
                return nil
            }
        }
    }

    private static func decode(_ row: PostgresTextRow) throws -> StoredReport {
        let (reportID, version, kind, status, start, end, zone, generated, signature, digest, findings, through, sha256) =
            try row.decode((String, Int, String, String, Int64, Int64, String, Int64, String, String, Int, Int64, String).self)
        guard let kind = ReportPeriod.Kind(rawValue: kind) else {
            throw BrokenReportRow(reportID: reportID, version: version, problem: "has an unknown kind")
        }
        // A forged row's instants could lie outside what RFC 3339 writes, which every reader of the report needs.
        let (periodStart, periodEnd, generatedAt) = (Timestamp(microseconds: start), Timestamp(microseconds: end), Timestamp(microseconds: generated))
        guard [periodStart, periodEnd, generatedAt].allSatisfy(Timestamp.representable.contains) else {
            throw BrokenReportRow(reportID: reportID, version: version, problem: "has a date outside the years 1 to 9999")
        }
        let detached: DetachedSignature
        do { detached = try DetachedSignature(reading: Array(signature.utf8)) } catch {
            throw BrokenReportRow(reportID: reportID, version: version, problem: "has an unreadable signature")
        }
        return StoredReport(
            reportID: reportID, version: version, kind: kind, status: status, periodStart: periodStart,
            periodEnd: periodEnd, timeZone: zone, generatedAt: generatedAt, body: [],
            signature: detached, findingsDigest: digest, findings: findings, throughPosition: through, bodySHA256: sha256)
    }
}

/// A stored report version that cannot be read as one: named, never shown.
package struct BrokenReportRow: Error, CustomStringConvertible {
    package var reportID: String
    package var version: Int
    package var problem: String

    package var description: String { "report \(reportID) v\(version) \(problem)" }
}
