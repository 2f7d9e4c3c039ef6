import CallAuditStore
import Hummingbird

/// Who is calling: the token's name and role.
package struct Caller: Sendable, Equatable {
    package var name: String
    package var role: APIRole
}

/// The per-request context: Hummingbird's, plus the authenticated caller.
package struct APIContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package var caller: Caller?
    package var maxUploadSize: Int { 64 * 1024 }

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The caller, if their role is one of `roles`; otherwise 401 or 403.
    func require(_ roles: APIRole...) throws -> Caller {
        guard let caller else { throw Authentication.missing }
        guard roles.contains(caller.role) else {
            throw Problem(.forbidden, "forbidden", "role \(caller.role.rawValue) may not do this; allowed: \(roles.map(\.rawValue).joined(separator: ", "))")
        }
        return caller
    }
}
