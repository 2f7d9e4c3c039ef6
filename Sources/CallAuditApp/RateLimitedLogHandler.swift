import Logging
import Synchronization

/// Holds back a log line repeated within a window: the first of each message
/// (per level) passes, repeats are counted, and the first one after the window
/// passes with `log.suppressed` saying how many were held back. A service
/// retrying against a dead broker every second writes a line per window, not
/// a gigabyte.
package struct RateLimitedLogHandler: LogHandler {
    private var inner: any LogHandler
    private let limiter: RepeatLimiter

    package init(wrapping inner: any LogHandler, window: Duration = .seconds(30)) {
        self.inner = inner
        self.limiter = RepeatLimiter(window: window)
    }

    package func log(event: LogEvent) {
        guard let suppressed = limiter.admit("\(event.level)|\(event.message)") else { return }
        var event = event
        if suppressed > 0 { event.metadata = (event.metadata ?? [:]).merging(["log.suppressed": "\(suppressed)"]) { $1 } }
        inner.log(event: event)
    }

    package var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    package var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    package var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }
}

/// Shared by every copy of the handler, across threads.
final class RepeatLimiter: Sendable {
    private struct Entry {
        var passedAt: ContinuousClock.Instant
        var suppressed: Int
    }

    private let window: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(window: Duration) { self.window = window }

    /// Nil to hold the line back; otherwise how many repeats were held back before it.
    func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        entries.withLock { entries in
            if var entry = entries[key], entry.passedAt.duration(to: now) < window {
                entry.suppressed += 1
                entries[key] = entry
                return nil
            }
            let suppressed = entries[key]?.suppressed ?? 0
            // Keys are message texts; a flood of distinct ones must not grow this without bound.
            if entries.count > 1_000 { entries.removeAll() }
            entries[key] = Entry(passedAt: now, suppressed: 0)
            return suppressed
        }
    }
}
