import CallAuditStore
import Hummingbird
import NIOCore

/// Who is calling: the token's name and role.
package struct Caller: Sendable, Equatable {
    package var name: String
    package var role: APIRole

    package init(name: String, role: APIRole) {
        self.name = name
        self.role = role
    }
}

/// The per-request context: Hummingbird's, plus the authenticated caller and
/// the peer's address (the socket's, never a forwarded header a client could write).
package struct APIContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package var caller: Caller?
    package let remoteAddress: SocketAddress?
    package var maxUploadSize: Int { 64 * 1024 }

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
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
