import CallAuditDomain
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation
import Hummingbird
import Synchronization

/// A report version as served: its signed bytes in a buffer every response shares, never copied.
struct ServedReport: Sendable {
    let report: StoredReport
    let body: ByteBuffer
}

/// Reports for the API: versions are immutable, so their bytes are kept in
/// memory once read; only "which version is the latest" asks the database.
package final class ReportAccess: Sendable {
    private let pool: DatabasePool
    private let database: DatabaseConfiguration
    private let policy: Policy
    private let keyDirectory: URL
    private let timeZone: String
    private let cache = Mutex<[String: ServedReport]>([:])
    /// Which version is the latest, per report, and when that was asked.
    private let latest = Mutex<[String: (version: Int, at: ContinuousClock.Instant)]>([:])

    package init(pool: DatabasePool, database: DatabaseConfiguration, policy: Policy, keyDirectory: URL, timeZone: String) {
        self.pool = pool
        self.database = database
        self.policy = policy
        self.keyDirectory = keyDirectory
        self.timeZone = timeZone
    }

    func report(_ id: String, version: Int?) async throws -> ServedReport? {
        let wanted: Int?
        if let version { wanted = version } else { wanted = try await latestVersion(id) }
        guard let wanted else { return nil }
        let key = "\(id)#\(wanted)"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        guard let stored = try await pool.withConnection({ try ReportStore(connection: $0).report(id, version: wanted) }) else { return nil }
        let report = ServedReport(report: stored, body: ByteBuffer(bytes: stored.body))
        cache.withLock { cache in
            // A few dozen recent versions: what dashboards and auditors read again and again.
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = report
        }
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

    /// A provisional report for any range, signed with the current key.
    func generate(from: Timestamp, to: Timestamp) async throws -> StoredReport {
        let key = try KeyRing.open(keyDirectory).current
        let (policy, timeZone, database) = (self.policy, self.timeZone, self.database)
        return try await pool.withConnection { connection in
            try ReportGenerator(connection: connection, policy: policy, signingKey: key, helper: database)
                .generate(.custom(from: from, to: to, timeZone: timeZone), status: .provisional)
        }
    }

    /// Every public key ever used, current and retired, read from the key folder so a rotation shows at once.
    func publishedKeys() throws -> [PublicKeyRecord] { try KeyRing.open(keyDirectory).published }
}
