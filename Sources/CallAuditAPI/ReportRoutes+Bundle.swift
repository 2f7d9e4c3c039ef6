import CallAuditDomain
import CallAuditIntegrity
import CallAuditRendering
import CallAuditReports
import Hummingbird

extension ReportRoutes {
    /// A report version's evidence bundle: the files of `ReportFiles` (those
    /// `callaudit reports show --out` writes) in one tar archive, with the
    /// proofs of every cited event in a single proofs.json. Recorded as a read
    /// (format `bundle`) before it is served, like every read.
    func bundle(_ request: Request, _ context: CallerContext) async throws -> Response {
        let served = try await find(try context.parameters.require("id"), request)
        var report = served.report
        report.body = served.bytes
        try await recordRead(report, format: "bundle", caller: context.caller)
        // Every cited event's proof in one document: a month's report can cite much of the month, so bundles are
        // built one at a time for the instance, one per token (429), with a bounded queue (503), like generation.
        let archive = try await reports.bundles.run(for: context.caller.token) {
            let cited = Array(Set(try ReportFiles.citedEvents(report.body))).sorted()
            let located = try await citations.located("\(report.reportID)@\(report.version)") {
                try await pool.withConnection { try InclusionProofs.locate(cited, on: $0) }
            }
            let proofs = try await pool.withConnection { try InclusionProofs.document(located: located, on: $0) }
            let files = try ReportFiles.files(of: report, proofs: proofs, keys: try reports.publishedKeys())
            return try USTar.archive(files, in: Self.bundleName(report), modified: report.generatedAt.microseconds / 1_000_000)
        }
        var response = respond(ByteBuffer(bytes: archive), type: "application/x-tar", report: report)
        // Report ids are CallAudit's own ([A-Za-z0-9_-]), safe in a header as they are.
        response.headers[.contentDisposition] = "attachment; filename=\"\(Self.bundleName(report)).tar\""
        return response
    }

    /// `callaudit-<id>-v<N>`: the archive's name, and the folder it unpacks into.
    static func bundleName(_ report: StoredReport) -> String { "callaudit-\(report.reportID)-v\(report.version)" }
}
