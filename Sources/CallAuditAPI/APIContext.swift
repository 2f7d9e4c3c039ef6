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
    /// Who sent a valid token; nil for anyone else (`Authentication` sets it).
    package var caller: Caller?
    package let remoteAddress: SocketAddress?

    /// The one request-body limit: a body larger than this is refused 413
    /// (`body-too-large`). Every body the API takes is a small JSON object, so
    /// it is fixed rather than a setting; Hummingbird's own decoding reads it too.
    package static let maxBodyBytes = 64 * 1024
    package var maxUploadSize: Int { Self.maxBodyBytes }

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The context of a route that needs a token: the caller is known, so a
/// handler never checks for one. Made on entry to a role's route group, which
/// answers 401 when there is no caller; the group's `RoleGate` then answers
/// 403 to a caller of another role (see `RouteGroups`).
package struct CallerContext: ChildRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let caller: Caller
    package var maxUploadSize: Int { APIContext.maxBodyBytes }

    package init(context: APIContext) throws {
        guard let caller = context.caller else { throw Authentication.missing }
        coreContext = context.coreContext
        self.caller = caller
    }
}
