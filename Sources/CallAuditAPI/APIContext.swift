import CallAuditStore
import Hummingbird
import NIOCore

/// Who is calling: the token's name and role, and which token it is.
package struct Caller: Sendable, Equatable {
    package var name: String
    package var role: APIRole
    /// What the per-token limits count by: the token itself, not its name.
    package var token: TokenID

    package init(name: String, role: APIRole, token: TokenID) {
        self.name = name
        self.role = role
        self.token = token
    }
}

/// A token's identity: the SHA-256 of its secret, the unique key `api_tokens`
/// keeps it under. Names are unique in the table too, but a name is a label
/// an operator chooses, while the hash is the credential: two tokens are two
/// tokens even if they were ever given one name. Never shown or logged.
package struct TokenID: Hashable, Sendable {
    package let sha256: [UInt8]

    package init(sha256: [UInt8]) { self.sha256 = sha256 }
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
