import CallAuditDomain
import CallAuditSigning
import Hummingbird

/// What needs no report: health, the API's own description, the public keys.
struct SystemRoutes {
    let reports: ReportAccess

    func register(on router: Router<APIContext>) {
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        router.get("/v1/keys") { _, context in
            _ = try context.require(.auditor, .dpo, .ops, .admin)
            return json(PublicKeyRecord.list(try reports.publishedKeys()))
        }
    }
}
