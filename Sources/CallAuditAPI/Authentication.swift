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
/// failed attempts, do not lock out). No allowance is shared between
/// addresses: what all of them together cost the database is bounded by
/// `TokenLookups` (one session, batched rounds), which only ever makes a
/// lookup wait, so failures from other addresses cannot refuse anyone's token.
///
/// The public routes (health, the dashboard's files, the OpenAPI document)
/// never look at the header: a probe or a browser gets them whatever it sends.
/// `/readyz` reads it only to decide how much to say.
struct Authentication: RouterMiddleware {
    typealias Context = APIContext

    let lookups: TokenLookups
    let cache: TokenCache
    let failures: FailedAuthentications

    static var missing: Problem {
        Problem(.unauthorized, "unauthorized", "send a bearer token: Authorization: Bearer <token> (`callaudit tokens create`)",
                headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\""])
    }

    /// How long a token valid at its last check is still accepted while PostgreSQL cannot be asked.
    static let outageGrace: Duration = .seconds(300)

    /// Paths served to anyone whatever they send.
    static let publicPaths: Set<String> = [
        "/healthz", "/ops", "/ops/app.js", "/ops/app.css", "/console", "/console/app.js", "/console/app.css", "/v1/openapi.yaml",
    ]
    /// Paths served to anyone, with more for some tokens: a token that is not
    /// valid there is answered as no token, not refused nor counted as a failure.
    static let optionalPaths: Set<String> = ["/readyz"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let header = request.headers[.authorization], !Self.publicPaths.contains(path) else {
            return try await next(request, context)
        }
        var context = context
        let client = ClientAddress(context.remoteAddress)
        if Self.optionalPaths.contains(path) {
            context.caller = await optionalCaller(for: header, client: client)
        } else {
            context.caller = try await caller(for: header, client: client)
        }
        return try await next(request, context)
    }

    /// The token of a `Bearer ca_…` header; nil for anything else.
    private static func secret(in header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("ca_"), parts[1].count < 200 else { return nil }
        return String(parts[1])
    }

    private func caller(for header: String, client: ClientAddress) async throws -> Caller {
        guard let secret = Self.secret(in: header) else {
            throw Problem(.unauthorized, "unauthorized", "the Authorization header is not a CallAudit bearer token",
                          headers: [.wwwAuthenticate: "Bearer realm=\"callaudit\", error=\"invalid_request\""])
        }
        let hash = APITokenStore.hash(secret)
        switch cache.lookup(hash) {
        case .valid(let caller):
            return caller
        case .invalid:
            if let wait = failures.take(client) { throw Self.throttled(wait) }
            throw Self.unknownToken
        case .unknown(let wasValid):
            // A token never seen valid costs the address one failure up front; over its allowance, no query at all.
            if !wasValid, let wait = failures.take(client) { throw Self.throttled(wait) }
            let found: Caller?
            do {
                found = try await lookUp(hash)
            } catch let error as PostgresError where error.isTransient {
                if !wasValid { failures.refund(client) }
                // Revoking is a write to PostgreSQL: while it cannot be asked, a token valid at its last check stays valid
                // for a while, so operations keep /metrics, /v1/status and the details of /readyz during the outage.
                if wasValid, let caller = cache.stale(hash, within: Self.outageGrace) { return caller }
                throw error
            }
            if let found {
                if !wasValid { failures.refund(client) }
                return found
            }
            if wasValid { failures.record(client) }
            throw Self.unknownToken
        }
    }

    /// The caller on an optional path (`/readyz`), or nil to answer as to
    /// anyone: a malformed, unknown or revoked token, an address over its
    /// allowance, or a lookup that failed. A probe configured with a stale
    /// token keeps getting its answer, and nothing counts against the address.
    /// A token not seen valid is still looked up only within the address's
    /// allowance, taken for the lookup and given back after it: one address
    /// cannot queue more lookups at a time than its burst.
    private func optionalCaller(for header: String, client: ClientAddress) async -> Caller? {
        guard let secret = Self.secret(in: header) else { return nil }
        let hash = APITokenStore.hash(secret)
        switch cache.lookup(hash) {
        case .valid(let caller):
            return caller
        case .invalid:
            return nil
        case .unknown(let wasValid):
            if !wasValid {
                guard failures.take(client) == nil else { return nil }
            }
            defer { if !wasValid { failures.refund(client) } }
            do {
                return try await lookUp(hash)
            } catch {
                return wasValid ? cache.stale(hash, within: Self.outageGrace) : nil
            }
        }
    }

    /// Asks PostgreSQL (through the batched lookups) and remembers the answer.
    private func lookUp(_ hash: [UInt8]) async throws -> Caller? {
        let found = try await lookups.find(hash)
        Counter(label: "callaudit_http_token_lookups_total", dimensions: [("result", found == nil ? "unknown" : "valid")]).increment()
        cache.store(hash, found)
        return found
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

/// Token lookups in PostgreSQL, in rounds: a lookup joins the waiting list,
/// and each round asks for every token waiting (up to `batch`) in one query
/// on one pooled session, one round at a time. So however many addresses
/// send unknown tokens, token lookups hold at most one of the API's sessions
/// and cost little each, and a valid token waits for rounds, never for a
/// refusal: a round of 256 costs a few milliseconds (measured on a table of
/// 1,000 tokens), so thousands of lookups waiting ahead of a token cost it
/// tens of milliseconds.
package final class TokenLookups: Sendable {
    package typealias Lookup = @Sendable ([[UInt8]]) async throws -> [[UInt8]: Caller]

    private struct Waiter {
        var hash: [UInt8]
        var answer: CheckedContinuation<Result<Caller?, any Error>, Never>
    }
    private struct State {
        var waiting: [Waiter] = []
        var running = false
    }
    private let state = Mutex(State())
    private let lookup: Lookup
    package let batch: Int

    /// `lookup` answers a round: the valid tokens among the hashes, by hash.
    package init(batch: Int = 256, lookup: @escaping Lookup) {
        self.batch = max(batch, 1)
        self.lookup = lookup
    }

    package convenience init(pool: DatabasePool) {
        self.init { hashes in
            try await pool.withConnection { connection in
                try APITokenStore(connection: connection).authenticate(hashes: hashes).reduce(into: [:]) { found, token in
                    found[token.key] = Caller(name: token.value.name, role: token.value.role, token: TokenID(sha256: token.key))
                }
            }
        }
    }

    /// The caller of the token with this hash, nil if it is unknown or revoked.
    package func find(_ hash: [UInt8]) async throws -> Caller? {
        let result = await withCheckedContinuation { (answer: CheckedContinuation<Result<Caller?, any Error>, Never>) in
            let start = state.withLock { state in
                state.waiting.append(Waiter(hash: hash, answer: answer))
                guard !state.running else { return false }
                state.running = true
                return true
            }
            // The first waiter starts the rounds; they run until nobody waits.
            if start { Task { await self.rounds() } }
        }
        return try result.get()
    }

    private func rounds() async {
        while let round = nextRound() {
            let found: Result<[[UInt8]: Caller], any Error>
            do {
                found = .success(try await lookup(Array(Set(round.map(\.hash)))))
            } catch {
                found = .failure(error)
            }
            for waiter in round { waiter.answer.resume(returning: found.map { $0[waiter.hash] }) }
        }
    }

    /// The next round's waiters, oldest first; nil (and no longer running) when nobody waits.
    private func nextRound() -> [Waiter]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.running = false
                return nil
            }
            let round = Array(state.waiting.prefix(batch))
            state.waiting.removeFirst(round.count)
            return round
        }
    }

    /// Lookups waiting for a round.
    package var waiting: Int { state.withLock { $0.waiting.count } }
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

/// Where a request came from, as the throttle counts it: an IPv4 address
/// (also when a dual-stack socket sees it as an IPv4-mapped IPv6 address), an
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
            // A dual-stack socket ([::]) sees IPv4 peers as ::ffff:a.b.c.d: each is its own IPv4 address, not one /64.
            if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                description = bytes.suffix(4).map { String($0) }.joined(separator: ".")
                return
            }
            let hex = bytes.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
            description = stride(from: 0, to: 8, by: 2).map { hex[$0] + hex[$0 + 1] }.joined(separator: ":") + "::/64"
        default:
            description = "local"
        }
    }

    package init(_ description: String) { self.description = description }
}

/// Failed authentications per client address: a token bucket each (`burst`
/// failures at once, refilled at `perMinute`). Nothing is shared between
/// addresses, so no address's failures use up another's allowance; what all
/// of them together cost the database is `TokenLookups`' to bound.
///
/// The table holds at most `maxClients` addresses: when full, addresses whose
/// bucket has refilled are dropped first (they carry nothing), then the one
/// that failed least recently.
package final class FailedAuthentications: Sendable {
    private struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    private let clients = Mutex<[ClientAddress: Bucket]>([:])
    private let perSecond: Double
    private let burst: Double
    private let maxClients: Int

    /// `perMinute` 0 turns the throttle off.
    package init(perMinute: Double, burst: Double, maxClients: Int = 10_000) {
        perSecond = perMinute / 60
        self.burst = max(burst, 1)
        self.maxClients = max(maxClients, 1)
    }

    /// Takes one failure from `client`'s allowance before its token is looked
    /// up: nil when there was one, otherwise how long until there is. Taking
    /// before the lookup, not counting after it, keeps concurrent requests
    /// from one address within the allowance too. `refund` gives it back when
    /// the token turns out valid.
    package func take(_ client: ClientAddress, now: ContinuousClock.Instant = .now) -> Duration? {
        guard perSecond > 0 else { return nil }
        return clients.withLock { clients in
            var bucket = clients[client] ?? Bucket(tokens: burst, at: now)
            refill(&bucket, now: now)
            guard bucket.tokens >= 1 else {
                clients[client] = bucket
                return .seconds((1 - bucket.tokens) / perSecond)
            }
            bucket.tokens -= 1
            if clients[client] == nil, clients.count >= maxClients { makeRoom(&clients, now: now) }
            clients[client] = bucket
            return nil
        }
    }

    /// Gives back what `take` took: the token was valid after all.
    package func refund(_ client: ClientAddress) {
        guard perSecond > 0 else { return }
        clients.withLock { clients in
            if var bucket = clients[client] {
                bucket.tokens = min(bucket.tokens + 1, burst)
                clients[client] = bucket
            }
        }
    }

    /// A failure that was not taken in advance (a token valid at its last check that no longer is).
    package func record(_ client: ClientAddress, now: ContinuousClock.Instant = .now) {
        guard perSecond > 0 else { return }
        clients.withLock { clients in
            var bucket = clients[client] ?? Bucket(tokens: burst, at: now)
            refill(&bucket, now: now)
            bucket.tokens = max(bucket.tokens - 1, 0)
            if clients[client] == nil, clients.count >= maxClients { makeRoom(&clients, now: now) }
            clients[client] = bucket
        }
    }

    package var clientCount: Int { clients.withLock { $0.count } }

    private func refill(_ bucket: inout Bucket, now: ContinuousClock.Instant) {
        bucket.tokens = min(burst, bucket.tokens + max(bucket.at.duration(to: now).inSeconds, 0) * perSecond)
        bucket.at = now
    }

    private func makeRoom(_ clients: inout [ClientAddress: Bucket], now: ContinuousClock.Instant) {
        let full = burst
        let perSecond = perSecond
        clients = clients.filter { $0.value.tokens + $0.value.at.duration(to: now).inSeconds * perSecond < full }
        if clients.count >= maxClients, let oldest = clients.min(by: { $0.value.at < $1.value.at })?.key {
            clients[oldest] = nil
        }
    }
}

extension Duration {
    /// Whole seconds, rounded up, at least 1: what `Retry-After` says.
    var wholeSecondsUp: Int { max(Int(components.seconds) + (components.attoseconds > 0 ? 1 : 0), 1) }
}
