import CallAuditDomain
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
    /// Report versions that cannot be read back: the service role may insert versions,
    /// so one forged or damaged row must cost only itself.
    @Suite("Reports that cannot be read")
    struct BrokenReportTests {
        @Test("a stored version that is no report is left out of the list, and the scheduler passes its report over instead of failing every round")
        func brokenVersionIsPassedOver() throws {
            let database = try TestDatabase.create()
            defer { database.drop() }
            let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: keys) }
            let owner = try database.owner()
            let generator = ReportGenerator(connection: owner, policy: .default, signingKey: try KeyRing.open(keys).current)
            let utc = TimeZone(identifier: "UTC")!
            let good = try generator.generate(ReportPeriod.containing(.now.adding(.seconds(-3 * 86_400)), kind: .day, zone: utc), status: .final)
            let broken = ReportPeriod.containing(.now.adding(.seconds(-2 * 86_400)), kind: .day, zone: utc)
            try owner.query(
                """
                INSERT INTO audit_reports (report_id, version, kind, status, period_start, period_end, time_zone, generated_at, body,
                    body_sha256, signature, key_id, findings_digest, findings, through_position)
                VALUES ($1, 1, 'day', 'final', $2::timestamptz, $3::timestamptz, 'UTC', now(), '\\x7b7d', sha256('\\x7b7d'),
                    'not a signature', 'k', 'd', 0, 0)
                """, [.text(broken.reportID), .text(broken.start.rfc3339), .text(broken.end.rfc3339)])

            #expect(try ReportStore(connection: owner).list().map(\.reportID) == [good.reportID], "the readable report is listed, the broken one left out")

            // A version whose dates lie before year 1 (PostgreSQL takes them; RFC 3339 cannot write them): left out of the
            // list and of its version list, never a trap in whoever reads it.
            try owner.query(
                """
                INSERT INTO audit_reports (report_id, version, kind, status, period_start, period_end, time_zone, generated_at, body,
                    body_sha256, signature, key_id, findings_digest, findings, through_position)
                SELECT 'day-forged-bc', 1, 'day', 'final', '0100-01-01 00:00:00+00 BC', '0100-01-02 00:00:00+00 BC', 'UTC', now(), body,
                    body_sha256, signature, key_id, findings_digest, findings, through_position
                FROM audit_reports WHERE report_id = $1
                """, [.text(good.reportID)])
            #expect(try ReportStore(connection: owner).list().map(\.reportID) == [good.reportID], "the version dated BC is left out")
            #expect(try ReportStore(connection: owner).versions("day-forged-bc").isEmpty, "and so is it from its version list")
            let failure = #expect(throws: (any Error).self) { try generator.generate(broken, status: .final) }
            #expect(failure.map(ReportScheduler.isUnreadableReport) == true, "the scheduler logs it and goes on to the next report")
            #expect(try ReportGenerator(connection: owner, policy: .default, signingKey: try KeyRing.open(keys).current)
                .generate(ReportPeriod(kind: good.kind, start: good.periodStart, end: good.periodEnd, timeZone: "UTC", reportID: good.reportID), status: .final)
                .version == 2, "the readable report still gets its next version")
        }
    }
}
