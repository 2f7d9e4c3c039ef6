import CallAuditStore
import Hummingbird
import Metrics
import NIOCore
import Synchronization

/// Bearer tokens (`Authorization: Bearer ca_…`): looked up by their SHA-256,
/// remembered for a couple of seconds so a busy client does not cost a query
/// per request; a revoked token stops working within that time.
///
/// Failed lookups are what an attacker can make for free, so they are
/// throttled per client address (`FailedAuthentications`): past the allowance,
/// an address's unknown tokens are answered 429 without asking the database.
/// Tokens that were valid when last looked up are still looked up, so a
/// client sharing its address with a guesser keeps working (OWASP: throttle
/// failed attempts, do not lock out).
///
/// The public routes (health, the dashboard's files, the OpenAPI document)
/// never look at the header: a probe or a browser gets them whatever it sends.
struct Authentication: RouterMiddleware {
    typealias Context = APIContext

    let pool: DatabasePool
    let cache: TokenCache
    let failures: FailedAuthentications

    static var missing: Problem {
        Problem(.unauthorized, "unauthorized", "send a bearer token: Authorization: Bearer <token> (`callaudit tokens create`)",
                headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\""])
    }

    /// How long a token valid at its last check is still accepted while PostgreSQL cannot be asked.
    static let outageGrace: Duration = .seconds(300)

    /// Paths served to anyone whatever they send (`/readyz` reads a token when there is one).
    static let publicPaths: Set<String> = ["/healthz", "/ops", "/ops/app.js", "/ops/app.css", "/v1/openapi.yaml"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], !Self.publicPaths.contains(request.uri.path) else {
            return try await next(request, context)
        }
        var context = context
        context.caller = try await caller(for: header, client: ClientAddress(context.remoteAddress))
        return try await next(request, context)
    }

    private func caller(for header: String, client: ClientAddress) async throws -> Caller {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("ca_"), parts[1].count < 200 else {
            throw Problem(.unauthorized, "unauthorized", "the Authorization header is not a CallAudit bearer token",
                          headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\", error=\"invalid_request\""])
        }
        let hash = APITokenStore.hash(String(parts[1]))
        switch cache.lookup(hash) {
        case .valid(let caller):
            return caller
        case .invalid:
            if let wait = failures.take(client) { throw Self.throttled(wait) }
            throw Self.unknownToken
        case .unknown(let wasValid):
            // A token never seen valid costs the address one failure up front; over its allowance, no query at all.
            if !wasValid, let wait = failures.take(client) { throw Self.throttled(wait) }
            let secret = String(parts[1])
            let found: Caller?
            do {
                found = try await pool.withConnection { try APITokenStore(connection: $0).authenticate(secret) }.map { Caller(name: $0.name, role: $0.role) }
            } catch let error as PostgresError where error.isTransient {
                if !wasValid { failures.refund(client) }
                // Revoking is a write to PostgreSQL: while it cannot be asked, a token valid at its last check stays valid
                // for a while, so operations keep /metrics, /v1/status and the details of /readyz during the outage.
                if wasValid, let caller = cache.stale(hash, within: Self.outageGrace) { return caller }
                throw error
            }
            Counter(label: "callaudit_http_token_lookups_total", dimensions: [("result", found == nil ? "unknown" : "valid")]).increment()
            cache.store(hash, found)
            if let found {
                if !wasValid { failures.refund(client) }
                return found
            }
            if wasValid { failures.record(client) }
            throw Self.unknownToken
        }
    }

    private static var unknownToken: Problem {
        Problem(.unauthorized, "unauthorized", "the token is unknown or revoked",
                headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\", error=\"invalid_token\""])
    }

    private static func throttled(_ wait: Duration) -> Problem {
        Counter(label: "callaudit_http_auth_throttled_total").increment()
        let seconds = wait.wholeSecondsUp
        return Problem(
            .tooManyRequests, "authentication-throttled",
            "too many failed authentications from this address; retry after \(seconds) s with a valid token",
            headers: [.retryAfter: String(seconds)])
    }
}

/// Token hashes seen lately, and who they were. Valid tokens and unknown ones
/// are kept apart, each bounded: however many unknown tokens arrive, they can
/// only push out other unknown ones, never a valid token.
package final class TokenCache: Sendable {
    package enum Answer: Equatable {
        /// Valid when last looked up, within the lifetime.
        case valid(Caller)
        /// Unknown or revoked when last looked up, within the lifetime.
        case invalid
        /// Look it up; `wasValid` if it was valid the last time it was (however long ago).
        case unknown(wasValid: Bool)
    }

    private struct Known { var caller: Caller; var at: ContinuousClock.Instant }
    private struct State {
        var valid: [[UInt8]: Known] = [:]
        var invalid: [[UInt8]: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    private let lifetime: Duration
    private let maxValid: Int
    private let maxInvalid: Int

    /// Valid tokens are few (one per client system); 10,000 is far beyond any
    /// deployment, and only a token that really is valid can take a place.
    package init(lifetime: Duration = .seconds(2), maxValid: Int = 10_000, maxInvalid: Int = 1_024) {
        self.lifetime = lifetime
        self.maxValid = max(maxValid, 1)
        self.maxInvalid = max(maxInvalid, 1)
    }

    package func lookup(_ hash: [UInt8], now: ContinuousClock.Instant = .now) -> Answer {
        state.withLock { state in
            if let known = state.valid[hash] {
                return known.at.duration(to: now) < lifetime ? .valid(known.caller) : .unknown(wasValid: true)
            }
            if let at = state.invalid[hash], at.duration(to: now) < lifetime { return .invalid }
            return .unknown(wasValid: false)
        }
    }

    /// The caller of a token that was valid at a check less than `grace` ago, however stale.
    package func stale(_ hash: [UInt8], within grace: Duration, now: ContinuousClock.Instant = .now) -> Caller? {
        state.withLock { state in
            guard let known = state.valid[hash], known.at.duration(to: now) < grace else { return nil }
            return known.caller
        }
    }

    /// What a lookup found: a caller, or nil for an unknown or revoked token.
    package func store(_ hash: [UInt8], _ caller: Caller?, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard let caller else {
                state.valid[hash] = nil
                // Unknown tokens only save a repeated query; when full they are all forgotten, valid ones untouched.
                if state.invalid.count >= maxInvalid { state.invalid.removeAll(keepingCapacity: true) }
                state.invalid[hash] = now
                return
            }
            state.invalid[hash] = nil
            if state.valid[hash] == nil, state.valid.count >= maxValid,
                let oldest = state.valid.min(by: { $0.value.at < $1.value.at })?.key
            {
                state.valid[oldest] = nil
            }
            state.valid[hash] = Known(caller: caller, at: now)
        }
    }

    package var counts: (valid: Int, invalid: Int) { state.withLock { ($0.valid.count, $0.invalid.count) } }
}

/// Where a request came from, as the throttle counts it: an IPv4 address, an
/// IPv6 /64 (one host usually has a whole /64 to pick addresses from), or
/// "local" for a Unix socket or an unknown peer.
package struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ address: SocketAddress?) {
        switch address {
        case .v4?:
            description = address?.ipAddress ?? "unknown"
        case .v6(let v6)?:
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            let hex = bytes.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
            description = stride(from: 0, to: 8, by: 2).map { hex[$0] + hex[$0 + 1] }.joined(separator: ":") + "::/64"
        default:
            description = "local"
        }
    }

    package init(_ description: String) { self.description = description }
}

/// Failed authentications per client address: a token bucket each (`burst`
/// failures at once, refilled at `perMinute`), plus one bucket for all
/// addresses together (ten times larger) so that many addresses cannot make
/// the database answer an unbounded stream of guesses either.
///
/// The table holds at most `maxClients` addresses: when full, addresses whose
/// bucket has refilled are dropped first (they carry nothing), then the one
/// that failed least recently.
package final class FailedAuthentications: Sendable {
    private struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    private struct State {
        var clients: [ClientAddress: Bucket] = [:]
        var everyone: Bucket
    }
    private let state: Mutex<State>
    private let perSecond: Double
    private let burst: Double
    private let maxClients: Int
    /// The shared bucket's allowance, as a multiple of one address's.
    private static let everyoneFactor = 10.0

    /// `perMinute` 0 turns the throttle off.
    package init(perMinute: Double, burst: Double, maxClients: Int = 10_000, now: ContinuousClock.Instant = .now) {
        perSecond = perMinute / 60
        self.burst = max(burst, 1)
        self.maxClients = max(maxClients, 1)
        state = Mutex(State(everyone: Bucket(tokens: max(burst, 1) * Self.everyoneFactor, at: now)))
    }

    /// Takes one failure from `client`'s allowance (and the shared one) before
    /// its token is looked up: nil when there was one, otherwise how long until
    /// there is. Taking before the lookup, not counting after it, keeps
    /// concurrent requests from one address within the allowance too.
    /// `refund` gives it back when the token turns out valid.
    package func take(_ client: ClientAddress, now: ContinuousClock.Instant = .now) -> Duration? {
        guard perSecond > 0 else { return nil }
        return state.withLock { state in
            refill(&state.everyone, now: now, scale: Self.everyoneFactor)
            if state.everyone.tokens < 1 { return .seconds((1 - state.everyone.tokens) / (perSecond * Self.everyoneFactor)) }
            var bucket = state.clients[client] ?? Bucket(tokens: burst, at: now)
            refill(&bucket, now: now, scale: 1)
            guard bucket.tokens >= 1 else {
                state.clients[client] = bucket
                return .seconds((1 - bucket.tokens) / perSecond)
            }
            bucket.tokens -= 1
            state.everyone.tokens -= 1
            if state.clients[client] == nil, state.clients.count >= maxClients { makeRoom(&state, now: now) }
            state.clients[client] = bucket
            return nil
        }
    }

    /// Gives back what `take` took: the token was valid after all.
    package func refund(_ client: ClientAddress) {
        guard perSecond > 0 else { return }
        state.withLock { state in
            state.everyone.tokens = min(state.everyone.tokens + 1, burst * Self.everyoneFactor)
            if var bucket = state.clients[client] {
                bucket.tokens = min(bucket.tokens + 1, burst)
                state.clients[client] = bucket
            }
        }
    }

    /// A failure that was not taken in advance (a token valid at its last check that no longer is).
    package func record(_ client: ClientAddress, now: ContinuousClock.Instant = .now) {
        guard perSecond > 0 else { return }
        state.withLock { state in
            refill(&state.everyone, now: now, scale: Self.everyoneFactor)
            state.everyone.tokens = max(state.everyone.tokens - 1, 0)
            var bucket = state.clients[client] ?? Bucket(tokens: burst, at: now)
            refill(&bucket, now: now, scale: 1)
            bucket.tokens = max(bucket.tokens - 1, 0)
            if state.clients[client] == nil, state.clients.count >= maxClients { makeRoom(&state, now: now) }
            state.clients[client] = bucket
        }
    }

    package var clientCount: Int { state.withLock { $0.clients.count } }

    private func refill(_ bucket: inout Bucket, now: ContinuousClock.Instant, scale: Double) {
        bucket.tokens = min(burst * scale, bucket.tokens + max(bucket.at.duration(to: now).inSeconds, 0) * perSecond * scale)
        bucket.at = now
    }

    private func makeRoom(_ state: inout State, now: ContinuousClock.Instant) {
        let full = burst
        let perSecond = perSecond
        state.clients = state.clients.filter { $0.value.tokens + $0.value.at.duration(to: now).inSeconds * perSecond < full }
        if state.clients.count >= maxClients, let oldest = state.clients.min(by: { $0.value.at < $1.value.at })?.key {
            state.clients[oldest] = nil
        }
    }
}

extension Duration {
    /// Whole seconds, rounded up, at least 1: what `Retry-After` says.
    var wholeSecondsUp: Int { max(Int(components.seconds) + (components.attoseconds > 0 ? 1 : 0), 1) }
}
