import CallAuditDomain
import CallAuditReports
import CallAuditSigning
import Foundation
import Synchronization

/// Reports for the API: versions are immutable, so their bytes are kept in
/// memory once read; only "which version is the latest" asks the database.
package final class ReportAccess: Sendable {
    private let pool: DatabasePool
    private let policy: Policy
    private let keyDirectory: URL
    private let timeZone: String
    private let cache = Mutex<[String: StoredReport]>([:])

    package init(pool: DatabasePool, policy: Policy, keyDirectory: URL, timeZone: String) {
        self.pool = pool
        self.policy = policy
        self.keyDirectory = keyDirectory
        self.timeZone = timeZone
    }

    func report(_ id: String, version: Int?) async throws -> StoredReport? {
        let wanted: Int?
        if let version { wanted = version } else { wanted = try await pool.withConnection { try ReportStore(connection: $0).latestVersion(id) } }
        guard let wanted else { return nil }
        let key = "\(id)#\(wanted)"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        guard let report = try await pool.withConnection({ try ReportStore(connection: $0).report(id, version: wanted) }) else { return nil }
        cache.withLock { cache in
            // A few dozen recent versions: what dashboards and auditors read again and again.
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = report
        }
        return report
    }

    /// A provisional report for any range, signed with the current key.
    func generate(from: Timestamp, to: Timestamp) async throws -> StoredReport {
        let key = try KeyRing.open(keyDirectory).current
        let (policy, timeZone) = (self.policy, self.timeZone)
        return try await pool.withConnection { connection in
            try ReportGenerator(connection: connection, policy: policy, signingKey: key)
                .generate(.custom(from: from, to: to, timeZone: timeZone), status: .provisional)
        }
    }

    /// Every public key ever used, current and retired, read from the key folder so a rotation shows at once.
    func publishedKeys() throws -> [PublicKeyRecord] { try KeyRing.open(keyDirectory).published }
}
