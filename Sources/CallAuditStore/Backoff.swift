/// Capped exponential backoff: 100 ms, 200 ms, 400 ms… never more than `maximum`.
package struct Backoff: Sendable {
    package let maximum: Duration
    private var next: Duration = .milliseconds(100)

    package init(maximum: Duration) { self.maximum = maximum }

    /// The delay before the next retry.
    package mutating func step() -> Duration {
        defer { next = min(next * 2, maximum) }
        return min(next, maximum)
    }
}
