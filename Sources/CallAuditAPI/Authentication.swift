import CallAuditStore
import Hummingbird
import Synchronization

/// Bearer tokens (`Authorization: Bearer ca_…`): looked up by their SHA-256,
/// remembered for a couple of seconds so a busy client does not cost a query
/// per request; a revoked token stops working within that time.
struct Authentication: RouterMiddleware {
    typealias Context = APIContext

    let pool: DatabasePool
    let cache: TokenCache

    static var missing: Problem {
        Problem(.unauthorized, "unauthorized", "send a bearer token: Authorization: Bearer <token> (`callaudit tokens create`)",
                headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\""])
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        context.caller = try await caller(for: header)
        return try await next(request, context)
    }

    private func caller(for header: String) async throws -> Caller {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("ca_"), parts[1].count < 200 else {
            throw Problem(.unauthorized, "unauthorized", "the Authorization header is not a CallAudit bearer token",
                          headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\", error=\"invalid_request\""])
        }
        let secret = String(parts[1])
        let known = try await cache.lookup(secret) {
            try await pool.withConnection { try APITokenStore(connection: $0).authenticate(secret) }.map { Caller(name: $0.name, role: $0.role) }
        }
        guard let known else {
            throw Problem(.unauthorized, "unauthorized", "the token is unknown or revoked",
                          headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\", error=\"invalid_token\""])
        }
        return known
    }
}

/// Token hashes seen lately, and who they were (nil: not a live token).
final class TokenCache: Sendable {
    private struct Entry { var caller: Caller?; var at: ContinuousClock.Instant }
    private let entries = Mutex<[[UInt8]: Entry]>([:])
    private let lifetime: Duration

    init(lifetime: Duration = .seconds(2)) { self.lifetime = lifetime }

    func lookup(_ secret: String, load: () async throws -> Caller?) async throws -> Caller? {
        let key = APITokenStore.hash(secret)
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[key] }), entry.at.duration(to: now) < lifetime { return entry.caller }
        let caller = try await load()
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = Entry(caller: caller, at: now)
        }
        return caller
    }
}
