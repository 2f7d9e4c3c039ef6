import CallAuditDomain
import CallAuditIntegrity
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation
import Hummingbird
import Synchronization

/// `/v1/reports`: list, generate on demand, and read a report as signed JSON,
/// its signature, CSV or HTML. Every read is recorded as an
/// `audit.report_read` event before the report is served.
struct ReportRoutes {
    let pool: DatabasePool
    let recorder: ReadRecorder
    let reports: ReportAccess
    let maxBodyBytes: Int

    func register(on router: Router<APIContext>) {
        router.get("/v1/reports") { request, context in try await list(request, context) }
        router.post("/v1/reports") { request, context in try await generate(request, context) }
        router.get("/v1/reports/{id}") { request, context in try await read(request, context) }
        router.get("/v1/reports/{id}/signature") { request, context in try await signature(request, context) }
        router.get("/v1/reports/{id}/proofs") { request, context in try await proofs(request, context) }
    }

    private func list(_ request: Request, _ context: APIContext) async throws -> Response {
        _ = try context.require(.auditor, .admin)
        let query = request.uri.queryParameters
        let kind = try query["kind"].map { text in
            guard let kind = ReportPeriod.Kind(rawValue: String(text)) else {
                throw Problem.badRequest("kind must be one of \(ReportPeriod.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return kind
        }
        let status = try query["status"].map { text in
            guard ["final", "provisional"].contains(text) else { throw Problem.badRequest("status must be final or provisional") }
            return String(text)
        }
        let from = try query["from"].map { try instant(String($0), name: "from") }
        let to = try query["to"].map { try instant(String($0), name: "to") }
        let listed = try await pool.withConnection { try ReportStore(connection: $0).list(kind: kind, from: from, to: to, status: status) }
        return json(["reports": .array(listed.map(\.listing))])
    }

    private func generate(_ request: Request, _ context: APIContext) async throws -> Response {
        _ = try context.require(.auditor, .admin)
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        guard let document = try? JSONParser.parse(Array(buffer: body)), document.objectValue != nil else {
            throw Problem.badRequest("send a JSON object {\"from\": …, \"to\": …}")
        }
        guard let fromText = document["from"]?.stringValue, let toText = document["to"]?.stringValue else {
            throw Problem.badRequest("from and to are required: dates (YYYY-MM-DD) or RFC 3339 date-times")
        }
        let (from, to) = (try instant(fromText, name: "from"), try instant(toText, name: "to"))
        guard from < to else { throw Problem.badRequest("from must be before to") }
        guard to.microseconds - from.microseconds <= 366 * 86_400_000_000 else {
            throw Problem.badRequest("a report covers at most 366 days; ask for several")
        }
        let report = try await reports.generate(from: from, to: to)
        var headers: HTTPFields = [.location: "/v1/reports/\(report.reportID)"]
        headers[.contentType] = "application/json"
        let answer: JSONValue = [
            "report_id": .string(report.reportID), "version": .number(Double(report.version)), "status": .string(report.status),
            "href": .string("/v1/reports/\(report.reportID)"),
        ]
        return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.canonicalBytes)))
    }

    private func read(_ request: Request, _ context: APIContext) async throws -> Response {
        let caller = try context.require(.auditor, .admin)
        var id = try context.parameters.require("id")
        var format = "json"
        for suffix in ["csv", "html"] where id.hasSuffix(".\(suffix)") {
            format = suffix
            id.removeLast(suffix.count + 1)
        }
        let served = try await find(id, request)
        let report = served.report
        try await recordRead(report, format: format, caller: caller)
        switch format {
        case "csv":
            return respond(ByteBuffer(bytes: try ReportRenderer.csv(report.body)), type: "text/csv; charset=utf-8", report: report)
        case "html":
            let html = try ReportRenderer.html(report.body, signature: report.signature, sha256: report.bodySHA256)
            return respond(ByteBuffer(string: html), type: "text/html; charset=utf-8", report: report)
        default:
            return respond(served.body, type: "application/json", report: report)
        }
    }

    /// Inclusion proofs of every event the report's findings cite, with the seals they lead to.
    private func proofs(_ request: Request, _ context: APIContext) async throws -> Response {
        let caller = try context.require(.auditor, .admin)
        let report = try await find(try context.parameters.require("id"), request).report
        try await recordRead(report, format: "proofs", caller: caller)
        let cited = try JSONParser.parse(report.body)["findings"]?.arrayValue?
            .flatMap { $0["evidence"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? []
        let document = try await pool.withConnection { try InclusionProofs.document(for: cited, on: $0) }
        guard case .object(var members) = document else { return json(document) }
        members.insert((key: "report", value: ["report_id": .string(report.reportID), "version": .number(Double(report.version))]), at: 0)
        return respond(ByteBuffer(bytes: JSONValue.object(members).canonicalBytes), type: "application/json", report: report)
    }

    private func signature(_ request: Request, _ context: APIContext) async throws -> Response {
        let caller = try context.require(.auditor, .admin)
        let report = try await find(try context.parameters.require("id"), request).report
        try await recordRead(report, format: "signature", caller: caller)
        switch request.uri.queryParameters["format"] {
        case nil, "json": return respond(ByteBuffer(bytes: report.signature.json.canonicalBytes), type: "application/json", report: report)
        case "raw": return respond(ByteBuffer(bytes: report.signature.bytes), type: "application/octet-stream", report: report)
        default: throw Problem.badRequest("format must be json or raw")
        }
    }

    /// The report, latest version or `?version=N`.
    private func find(_ id: String, _ request: Request) async throws -> ServedReport {
        let version = try request.uri.queryParameters["version"].map { text in
            guard let version = Int32(text), version >= 1 else { throw Problem.badRequest("version must be an integer from 1 to 2147483647") }
            return version
        }
        guard let report = try await reports.report(id, version: version.map(Int.init)) else {
            throw Problem.notFound("no report \(id)\(version.map { " version \($0)" } ?? "")")
        }
        return report
    }

    private func recordRead(_ report: StoredReport, format: String, caller: Caller) async throws {
        let data: JSONValue = [
            "report_id": .string(report.reportID), "version": .number(Double(report.version)), "format": .string(format),
            "reader": ["name": .string(caller.name), "role": .string(caller.role.rawValue)], "channel": "api",
        ]
        try await recorder.record(try OwnEventType.reportRead.event(data: data, at: .now))
    }

    private func respond(_ body: ByteBuffer, type: String, report: StoredReport) -> Response {
        var headers: HTTPFields = [.contentType: type, .eTag: "\"\(report.bodySHA256)-v\(report.version)\""]
        headers[.init("X-Report-Version")!] = String(report.version)
        headers[.init("Link")!] = "</v1/reports/\(report.reportID)/signature>; rel=\"signature\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 date-time.
func instant(_ text: String, name: String) throws -> Timestamp {
    guard let value = Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z") else {
        throw Problem.badRequest("\(name) must be a date (YYYY-MM-DD) or an RFC 3339 date-time")
    }
    return value
}

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.canonicalBytes)))
}
