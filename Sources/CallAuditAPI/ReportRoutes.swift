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
    /// The longest range `POST /v1/reports` accepts.
    let maxRangeDays: Int
    /// Proofs per page of `/proofs`: by default, and at most.
    static let proofsPage = (default: 250, maximum: 1_000)
    /// Where each report version's cited events are, found once for all its pages.
    let citations = CitedEvents()

    func register(on groups: RouteGroups) {
        let auditors = groups.callers(.auditor, .admin)
        auditors.get("/v1/reports") { request, _ in try await list(request) }
        auditors.post("/v1/reports") { request, context in try await generate(request, context) }
        // Also `{id}.csv` and `{id}.html`: the suffix picks the format.
        auditors.get("/v1/reports/{id}") { request, context in try await read(request, context) }
        auditors.get("/v1/reports/{id}/signature") { request, context in try await signature(request, context) }
        auditors.get("/v1/reports/{id}/proofs") { request, context in try await proofs(request, context) }
        auditors.get("/v1/reports/{id}/versions") { _, context in try await versions(context) }
        auditors.get("/v1/reports/{id}/bundle") { request, context in try await bundle(request, context) }
    }

    private func list(_ request: Request) async throws -> Response {
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
        let after = try query["after"].map { text in
            let cursor = try PageCursor.decode(String(text), tag: "reports", count: 2)
            return ReportStore.ListPosition(periodStart: Timestamp(microseconds: try cursor.microseconds(0)), reportID: try cursor.identifier(1))
        }
        // Without `limit`, as before `limit` existed: the first 500 (now with `next` when there are more).
        let limit = try pageLimit(request) ?? 500
        let listed = try await pool.withConnection {
            try ReportStore(connection: $0).list(kind: kind, from: from, to: to, status: status, after: after, limit: limit + 1)
        }
        let shown = listed.prefix(limit)
        let next = listed.count > limit ? shown.last.map { last in
            PageCursor(tag: "reports", fields: [String(last.periodStart.microseconds), last.reportID]).encoded
        } : nil
        return page(["reports": .array(shown.map(\.listing)), "next": next.map(JSONValue.string) ?? .null], next: next, request: request)
    }

    /// Every version of a report, newest first: what each says, not its body.
    private func versions(_ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let versions = try await pool.withConnection { try ReportStore(connection: $0).versions(id) }
        guard !versions.isEmpty else { throw Problem.notFound("no report \(id)") }
        return json([
            "report_id": .string(id),
            "versions": .array(versions.map { version in
                [
                    "version": .number(Double(version.version)), "status": .string(version.status), "generated_at": .string(version.generatedAt.rfc3339),
                    "findings": .number(Double(version.findings)), "key_id": .string(version.signature.keyID), "sha256": .string(version.bodySHA256),
                ]
            }),
        ])
    }

    private func generate(_ request: Request, _ context: CallerContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard let document = try? JSONParser.parse(Array(buffer: body)), document.objectValue != nil else {
            throw Problem.badRequest("send a JSON object {\"from\": …, \"to\": …}")
        }
        guard let fromText = document["from"]?.stringValue, let toText = document["to"]?.stringValue else {
            throw Problem.badRequest("from and to are required: dates (YYYY-MM-DD) or RFC 3339 date-times")
        }
        let (from, to) = (try instant(fromText, name: "from"), try instant(toText, name: "to"))
        guard from < to else { throw Problem.badRequest("from must be before to") }
        // Every on-demand report is stored for good and forces a seal: its size is bounded here.
        guard to.microseconds - from.microseconds <= Int64(maxRangeDays) * 86_400_000_000 else {
            throw Problem(.badRequest, "report-range-too-long", "an on-demand report covers at most \(maxRangeDays) days; ask for several, or read the scheduled reports")
        }
        let report = try await reports.generate(from: from, to: to, for: context.caller)
        var headers: HTTPFields = [.location: "/v1/reports/\(report.reportID)"]
        headers[.contentType] = "application/json"
        let answer: JSONValue = [
            "report_id": .string(report.reportID), "version": .number(Double(report.version)), "status": .string(report.status),
            "href": .string("/v1/reports/\(report.reportID)"),
        ]
        return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.canonicalBytes)))
    }

    private func read(_ request: Request, _ context: CallerContext) async throws -> Response {
        var id = try context.parameters.require("id")
        var format = "json"
        for suffix in ["csv", "html"] where id.hasSuffix(".\(suffix)") {
            format = suffix
            id.removeLast(suffix.count + 1)
        }
        let served = try await find(id, request)
        let report = served.report
        try await recordRead(report, format: format, caller: context.caller)
        switch format {
        case "csv":
            return respond(ByteBuffer(bytes: try ReportRenderer.csv(served.bytes)), type: "text/csv; charset=utf-8", report: report)
        case "html":
            let html = try ReportRenderer.html(served.bytes, signature: report.signature, sha256: report.bodySHA256)
            return respond(ByteBuffer(string: html), type: "text/html; charset=utf-8", report: report)
        default:
            return respond(served.body, type: "application/json", report: report)
        }
    }

    /// Inclusion proofs of the events the report's findings cite, a page at a
    /// time: the cited event ids, sorted and without repeats, from `after`
    /// (how many earlier pages covered), `limit` of them. Each page is a
    /// proofs document of its own (its proofs, the seals they lead to, its
    /// unsealed ids), so `callaudit verify --proofs` takes the pages as they
    /// come; `page.next` names the next one, pinned to the same version.
    private func proofs(_ request: Request, _ context: CallerContext) async throws -> Response {
        let query = request.uri.queryParameters
        let after = try query["after"].map { text in
            guard let value = Int(text), value >= 0, value <= 2_147_483_647 else { throw Problem.badRequest("after must be an integer from 0 (the previous page's page.next)") }
            return value
        } ?? 0
        let limit = try query["limit"].map { text in
            guard let value = Int(text), (1...Self.proofsPage.maximum).contains(value) else {
                throw Problem.badRequest("limit must be between 1 and \(Self.proofsPage.maximum)")
            }
            return value
        } ?? Self.proofsPage.default
        let served = try await find(try context.parameters.require("id"), request)
        let report = served.report
        try await recordRead(report, format: "proofs", caller: context.caller)
        let cited = Array(Set(try JSONParser.parse(served.bytes)["findings"]?.arrayValue?
            .flatMap { $0["evidence"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? [])).sorted()
        let slice = Set(after < cited.count ? cited[after..<min(after + limit, cited.count)] : [])
        let key = "\(report.reportID)@\(report.version)"
        let located = try await citations.located(key) { try await pool.withConnection { try InclusionProofs.locate(cited, on: $0) } }
        let document = try await pool.withConnection { try InclusionProofs.document(located: located.filter { slice.contains($0.eventID) }, on: $0) }
        let next: String? =
            after + limit < cited.count ? "/v1/reports/\(report.reportID)/proofs?version=\(report.version)&after=\(after + limit)&limit=\(limit)" : nil
        guard case .object(var members) = document else { return json(document) }
        members.insert((key: "report", value: ["report_id": .string(report.reportID), "version": .number(Double(report.version))]), at: 0)
        members.append((key: "page", value: [
            "after": .number(Double(after)), "limit": .number(Double(limit)), "cited": .number(Double(cited.count)),
            "next": next.map(JSONValue.string) ?? .null,
        ]))
        return respond(ByteBuffer(bytes: JSONValue.object(members).canonicalBytes), type: "application/json", report: report, next: next)
    }

    private func signature(_ request: Request, _ context: CallerContext) async throws -> Response {
        let report = try await find(try context.parameters.require("id"), request).report
        try await recordRead(report, format: "signature", caller: context.caller)
        switch request.uri.queryParameters["format"] {
        case nil, "json": return respond(ByteBuffer(bytes: report.signature.json.canonicalBytes), type: "application/json", report: report)
        case "raw": return respond(ByteBuffer(bytes: report.signature.bytes), type: "application/octet-stream", report: report)
        default: throw Problem.badRequest("format must be json or raw")
        }
    }

    /// The report, latest version or `?version=N`.
    func find(_ id: String, _ request: Request) async throws -> ServedReport {
        let version = try request.uri.queryParameters["version"].map { text in
            guard let version = Int32(text), version >= 1 else { throw Problem.badRequest("version must be an integer from 1 to 2147483647") }
            return version
        }
        guard let report = try await reports.report(id, version: version.map(Int.init)) else {
            throw Problem.notFound("no report \(id)\(version.map { " version \($0)" } ?? "")")
        }
        return report
    }

    func recordRead(_ report: StoredReport, format: String, caller: Caller) async throws {
        let data: JSONValue = [
            "report_id": .string(report.reportID), "version": .number(Double(report.version)), "format": .string(format),
            "reader": ["name": .string(caller.name), "role": .string(caller.role.rawValue)], "channel": "api",
        ]
        try await recorder.record(try OwnEventType.reportRead.event(data: data, at: .now))
    }

    /// With the report's version and signature; `next` adds the next page's link.
    func respond(_ body: ByteBuffer, type: String, report: StoredReport, next: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: type, .eTag: "\"\(report.bodySHA256)-v\(report.version)\""]
        headers[.init("X-Report-Version")!] = String(report.version)
        headers[.init("Link")!] = "</v1/reports/\(report.reportID)/signature>; rel=\"signature\"" + (next.map { ", <\($0)>; rel=\"next\"" } ?? "")
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

/// Where the events a report version cites are: positions never change, so
/// they are found once (one read of the log at worst, when producers have
/// written more sources than the index is probed for) and every page of
/// proofs after the first costs only its seals. A few versions are kept.
final class CitedEvents: Sendable {
    private let kept = Mutex<[String: [(eventID: String, cursor: LogCursor)]]>([:])
    private static let versions = 16

    func located(
        _ key: String, locate: () async throws -> [(eventID: String, cursor: LogCursor)]
    ) async throws -> [(eventID: String, cursor: LogCursor)] {
        if let found = kept.withLock({ $0[key] }) { return found }
        let found = try await locate()
        kept.withLock { kept in
            if kept.count >= Self.versions { kept.removeAll() }
            kept[key] = found
        }
        return found
    }
}
