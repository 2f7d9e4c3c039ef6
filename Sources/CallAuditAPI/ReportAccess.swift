import CallAuditDomain
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation
import Hummingbird
import Synchronization

/// A report version as served: its signed bytes in a buffer every response
/// shares, never copied; `report` is everything else (its `body` is left
/// empty so the bytes are held once).
struct ServedReport: Sendable {
    let report: StoredReport
    let body: ByteBuffer

    init(_ stored: StoredReport) {
        body = ByteBuffer(bytes: stored.body)
        var report = stored
        report.body = []
        self.report = report
    }

    /// The signed bytes, copied out: for rendering CSV and HTML and for finding the cited events.
    var bytes: [UInt8] { Array(buffer: body) }
}

/// Reports for the API: versions are immutable, so their bytes are kept in
/// memory once read (up to a byte budget, least recently used first out);
/// only "which version is the latest" asks the database.
package final class ReportAccess: Sendable {
    private let pool: DatabasePool
    private let policy: Policy
    private let keyDirectory: URL
    private let timeZone: String
    private let cache: ReportCache
    let generations: GenerationQueue
    /// Evidence bundles carry every cited event's proof, so they are built under the same bound as generation.
    let bundles: GenerationQueue
    /// Which version is the latest, per report, and when that was asked.
    private let latest = Mutex<[String: (version: Int, at: ContinuousClock.Instant)]>([:])

    package init(pool: DatabasePool, policy: Policy, keyDirectory: URL, timeZone: String, cacheBytes: Int, generationQueue: Int) {
        self.pool = pool
        self.policy = policy
        self.keyDirectory = keyDirectory
        self.timeZone = timeZone
        cache = ReportCache(capacity: cacheBytes)
        generations = GenerationQueue(waiting: generationQueue, work: .generation)
        bundles = GenerationQueue(waiting: generationQueue, work: .bundle)
    }

    func report(_ id: String, version: Int?) async throws -> ServedReport? {
        let wanted: Int?
        if let version { wanted = version } else { wanted = try await latestVersion(id) }
        guard let wanted else { return nil }
        let key = "\(id)#\(wanted)"
        if let cached = cache.get(key) { return cached }
        guard let stored = try await pool.withConnection({ try ReportStore(connection: $0).report(id, version: wanted) }) else { return nil }
        let report = ServedReport(stored)
        cache.put(key, report)
        return report
    }

    /// The latest version, asked of the database at most once a second per
    /// report: a new version shows within a second, and a dashboard polling
    /// one report costs no query per request.
    private func latestVersion(_ id: String) async throws -> Int? {
        let now = ContinuousClock.now
        if let known = latest.withLock({ $0[id] }), known.at.duration(to: now) < .seconds(1) { return known.version }
        guard let version = try await pool.withConnection({ try ReportStore(connection: $0).latestVersion(id) }) else { return nil }
        latest.withLock { latest in
            if latest.count >= 1_024 { latest.removeAll() }
            latest[id] = (version, now)
        }
        return version
    }

    /// A provisional report for any range, signed with the current key, made
    /// on one pooled session (the findings are read on it too, not on a
    /// second connection of their own), one generation at a time (`generations`).
    func generate(from: Timestamp, to: Timestamp, for caller: Caller) async throws -> StoredReport {
        try await generations.run(for: caller.token) {
            let key = try KeyRing.open(keyDirectory).current
            let (policy, timeZone) = (self.policy, self.timeZone)
            return try await pool.withConnection { connection in
                try ReportGenerator(connection: connection, policy: policy, signingKey: key, helper: nil)
                    .generate(.custom(from: from, to: to, timeZone: timeZone), status: .provisional)
            }
        }
    }

    /// Every public key ever used, current and retired, read from the key folder so a rotation shows at once.
    func publishedKeys() throws -> [PublicKeyRecord] { try KeyRing.open(keyDirectory).published }
}

/// Report versions in memory, bounded by their bytes: a new one pushes out
/// the least recently read until the total fits; one larger than the whole
/// budget is served but not kept. A budget of 0 keeps nothing.
package final class ReportCache: Sendable {
    private struct Entry {
        var report: ServedReport
        var bytes: Int
        var used: UInt64
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())
    package let capacity: Int

    package init(capacity: Int) { self.capacity = max(capacity, 0) }

    func get(_ key: String) -> ServedReport? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.used = state.clock
            state.entries[key] = entry
            return entry.report
        }
    }

    func put(_ key: String, _ report: ServedReport) {
        // The body, plus what the record around it costs (ids, signature, dictionary slot).
        let bytes = report.body.readableBytes + 512
        guard bytes <= capacity else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.bytes }
            // Least recently used first; a linear search is cheap next to reading a report from the database.
            while state.bytes + bytes > capacity, let oldest = state.entries.min(by: { $0.value.used < $1.value.used }) {
                state.entries[oldest.key] = nil
                state.bytes -= oldest.value.bytes
            }
            state.clock += 1
            state.entries[key] = Entry(report: report, bytes: bytes, used: state.clock)
            state.bytes += bytes
        }
    }

    /// What is held: versions and their bytes.
    package var usage: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }
    package func contains(_ key: String) -> Bool { state.withLock { $0.entries[key] != nil } }
}

/// Work on demand that reads a whole report's worth of the store (on-demand
/// generation; evidence bundles, each with its own queue): one at a time for
/// the whole instance, at most `waiting` more queued behind it, and never two
/// from the same token (the token itself, `TokenID`: not its name).
/// A token that already has one running or queued gets 429; a full queue
/// gets 503; both with `Retry-After` estimated from how long generations
/// have been taking.
package final class GenerationQueue: Sendable {
    private enum Admission { case now, queued, busy(Int), full(Int) }
    private struct State {
        var running = false
        var waiters: [CheckedContinuation<Admission, Never>] = []
        var tokens: Set<TokenID> = []
        /// Seconds the last generations took, smoothed.
        var seconds = 5.0
    }
    /// What the queue runs, as its refusals name it.
    package struct Work: Sendable {
        var busyType: String, busyText: String, fullType: String, fullText: String

        package static let generation = Work(
            busyType: "report-generation-busy", busyText: "this token already has a report being generated",
            fullType: "report-queue-full", fullText: "on-demand reports are generated one at a time and the queue is full")
        package static let bundle = Work(
            busyType: "bundle-busy", busyText: "this token already has an evidence bundle being built",
            fullType: "bundle-queue-full", fullText: "evidence bundles are built one at a time and the queue is full")
    }

    private let state = Mutex(State())
    package let waiting: Int
    private let work: Work

    package init(waiting: Int, work: Work = .generation) {
        self.waiting = max(waiting, 0)
        self.work = work
    }

    package func run<T: Sendable>(for token: TokenID, _ body: () async throws -> T) async throws -> T {
        try await enter(token)
        let started = ContinuousClock.now
        defer { leave(token, took: started.duration(to: .now)) }
        return try await body()
    }

    private func enter(_ token: TokenID) async throws {
        // Decided and, when queued, parked under one lock, so a release cannot slip in between.
        let admission: Admission = await withCheckedContinuation { (parked: CheckedContinuation<Admission, Never>) in
            state.withLock { state in
                if state.tokens.contains(token) {
                    parked.resume(returning: .busy(Self.retryAfter(state.seconds, ahead: state.waiters.count + 1)))
                } else if !state.running {
                    state.running = true
                    state.tokens.insert(token)
                    parked.resume(returning: .now)
                } else if state.waiters.count < waiting {
                    state.tokens.insert(token)
                    // Parked here; `leave` hands the slot over by resuming this continuation.
                    state.waiters.append(parked)
                } else {
                    parked.resume(returning: .full(Self.retryAfter(state.seconds, ahead: state.waiters.count + 1)))
                }
            }
        }
        switch admission {
        case .now, .queued: return
        case .busy(let seconds):
            throw Problem(
                .tooManyRequests, work.busyType, "\(work.busyText); one at a time per token, retry after \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        case .full(let seconds):
            throw Problem(
                .serviceUnavailable, work.fullType, "\(work.fullText); retry after \(seconds) s", headers: [.retryAfter: String(seconds)])
        }
    }

    private func leave(_ token: TokenID, took: Duration) {
        let next: CheckedContinuation<Admission, Never>? = state.withLock { state in
            state.tokens.remove(token)
            state.seconds = state.seconds * 0.7 + took.inSeconds * 0.3
            guard !state.waiters.isEmpty else {
                state.running = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume(returning: .queued)
    }

    private static func retryAfter(_ seconds: Double, ahead: Int) -> Int { min(max(Int((seconds * Double(ahead)).rounded(.up)), 1), 300) }

    package var load: (running: Bool, waiting: Int) { state.withLock { ($0.running, $0.waiters.count) } }
}
