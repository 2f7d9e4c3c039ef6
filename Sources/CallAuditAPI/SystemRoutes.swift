import CallAuditDomain
import CallAuditSigning
import Hummingbird

/// What needs no report: health, the API's own description, the public keys.
struct SystemRoutes {
    let reports: ReportAccess

    func register(on groups: RouteGroups) {
        groups.anyone.get("/healthz") { _, _ in json(["status": "ok"]) }
        groups.anyone.get("/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        groups.callers(.auditor, .dpo, .ops, .admin).get("/v1/keys") { _, _ in
            json(PublicKeyRecord.list(try reports.publishedKeys()))
        }
    }
}
