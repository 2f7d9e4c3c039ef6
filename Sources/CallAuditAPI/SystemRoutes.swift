import CallAuditDomain
import CallAuditSigning
import Hummingbird

/// What needs no report: health, the API's own description, the public keys, who is calling.
struct SystemRoutes {
    let reports: ReportAccess

    func register(on groups: RouteGroups) {
        groups.anyone.get("/healthz") { _, _ in json(["status": "ok"]) }
        groups.anyone.get("/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        let everyRole = groups.callers(.auditor, .dpo, .ops, .admin)
        everyRole.get("/v1/keys") { _, _ in
            json(PublicKeyRecord.list(try reports.publishedKeys()))
        }
        // The token's name and role, for a console to say who is signed in and which sections to offer.
        everyRole.get("/v1/whoami") { _, context in
            json(["name": .string(context.caller.name), "role": .string(context.caller.role.rawValue)])
        }
    }
}
