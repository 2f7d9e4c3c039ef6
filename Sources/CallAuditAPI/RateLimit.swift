import Hummingbird
import Synchronization

/// A token bucket per token (by its identity, not its name): `rate` requests
/// a second on average, up to `burst` at once. Over the limit, 429 with `Retry-After`. Anonymous
/// requests (health, the OpenAPI document) are not limited.
struct RateLimit: RouterMiddleware {
    typealias Context = APIContext

    let buckets: TokenBuckets

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let caller = context.caller, let wait = buckets.take(caller.token) {
            let seconds = max(Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0), 1)
            throw Problem(
                .tooManyRequests, "rate-limited", "token \(caller.name) is over its limit of requests; retry after \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        }
        return try await next(request, context)
    }
}

final class TokenBuckets: Sendable {
    private struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[TokenID: Bucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(burst, 1)
    }

    /// Nil when the request may go ahead; otherwise how long until it could.
    func take(_ token: TokenID, now: ContinuousClock.Instant = .now) -> Duration? {
        guard rate > 0 else { return nil }
        return buckets.withLock { buckets in
            var bucket = buckets[token] ?? Bucket(tokens: burst, at: now)
            bucket.tokens = min(burst, bucket.tokens + bucket.at.duration(to: now).inSeconds * rate)
            bucket.at = now
            defer { buckets[token] = bucket }
            guard bucket.tokens >= 1 else { return .seconds((1 - bucket.tokens) / rate) }
            bucket.tokens -= 1
            return nil
        }
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
