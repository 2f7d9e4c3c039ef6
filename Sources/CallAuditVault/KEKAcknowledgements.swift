import CallAuditStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Which KEK each running instance wraps new data keys with, so that a KEK is
/// retired only once no instance anywhere still uses it.
///
/// Every instance acknowledges its KEK at start and every `refreshInterval`;
/// an acknowledgement older than `liveWithin` is an instance that is gone.
/// `retire` re-checks, in the transaction that records the retirement, that
/// no live instance names the KEK and no key is wrapped with it; from then on
/// the database refuses any key wrapped with it (SQLSTATE CA001), so a host
/// whose file was missed cannot strand a person's key.
package enum KEKAcknowledgements {
    package static let refreshInterval: Duration = .seconds(5)
    package static let liveWithin: Duration = .seconds(60)

    /// This process's name in `kek_acknowledgements`: host, process id and start time.
    package static let instance = String("\(ProcessInfo.processInfo.hostName) pid \(getpid()) since \(Int(Date().timeIntervalSince1970))".prefix(200))

    /// Records that `instance` wraps with `kekID` now.
    package static func acknowledge(_ kekID: String, instance: String = instance, on connection: PostgresConnection) throws {
        try connection.query(
            """
            INSERT INTO kek_acknowledgements (instance, kek_id, acknowledged_at) VALUES ($1, $2, now())
            ON CONFLICT (instance) DO UPDATE SET kek_id = excluded.kek_id, acknowledged_at = excluded.acknowledged_at
            """, [.text(instance), .text(kekID)])
    }

    /// An instance stopping: it wraps nothing any more.
    package static func withdraw(instance: String = instance, on connection: PostgresConnection) throws {
        try connection.query("DELETE FROM kek_acknowledgements WHERE instance = $1", [.text(instance)])
    }

    /// The KEK the database says is current (`keys rotate-kek` sets it); nil before any rotation.
    package static func current(on connection: PostgresConnection) throws -> String? {
        try connection.query("SELECT kek_current FROM vault_epoch").decodeFirst(String?.self) ?? nil
    }

    /// Records `kekID` as the current KEK (`keys rotate-kek`): from then on an instance without it refuses to serve.
    package static func recordCurrent(_ kekID: String, on connection: PostgresConnection) throws {
        try connection.query("UPDATE vault_epoch SET kek_current = $1", [.text(kekID)])
    }

    /// Why `keys` cannot serve: the current KEK is not in them, or the one they wrap with was retired. Nil when they can.
    package static func refusal(of keys: KeyEncryptionKeys, on connection: PostgresConnection) throws -> String? {
        if let current = try current(on: connection), !keys.ids.contains(current) {
            return "it lacks KEK \(current), the current key-encryption key (made current by `keys rotate-kek`)"
        }
        // Before any rotation there is no current KEK on record: the blind-index key says which one the data is under.
        if let wrapping = try connection.query("SELECT kek_id FROM vault_keys WHERE name = 'blind-index'").decodeFirst(String.self),
            !keys.ids.contains(wrapping)
        {
            return "it lacks KEK \(wrapping), which the stored keys are wrapped with (another host's KEK file?)"
        }
        if try connection.query("SELECT 1 FROM kek_retirements WHERE kek_id = $1", [.text(keys.currentID)]).rows.first != nil {
            return "its current KEK \(keys.currentID) was retired (`keys retire-kek`)"
        }
        return nil
    }

    /// Live instances that last said they wrap with `kekID`.
    package static func liveUsers(of kekID: String, on connection: PostgresConnection) throws -> [String] {
        try connection.query(
            "SELECT instance FROM kek_acknowledgements WHERE kek_id = $1 AND acknowledged_at > now() - make_interval(secs => $2) ORDER BY instance",
            [.text(kekID), .int(Int(liveWithin.components.seconds))]
        ).decode(String.self)
    }

    /// Why a KEK cannot be retired yet.
    package enum RetirementRefusal: Error, CustomStringConvertible {
        case inUse(kekID: String, instances: [String])
        case stillWrapping(kekID: String, keys: Int)

        package var description: String {
            switch self {
            case .inUse(let id, let instances):
                "KEK \(id) is still what \(instances.count) running instance(s) wrap with: \(instances.joined(separator: "; ")). "
                    + "Give them the current KEK file (they acknowledge it within \(KEKAcknowledgements.refreshInterval.components.seconds) s), then try again"
            case .stillWrapping(let id, let keys):
                "\(keys) keys are still wrapped with KEK \(id); try again (re-wrapping runs first)"
            }
        }
    }

    /// In one transaction, under the lock every write of a wrapped key takes
    /// shared: no live instance wraps with `kekID`, no key is wrapped with it;
    /// then it is recorded as retired, and the database refuses it from then on.
    package static func retire(_ kekID: String, on connection: PostgresConnection) throws {
        try connection.transaction {
            try connection.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('callaudit.kek', 0))")
            let users = try liveUsers(of: kekID, on: connection)
            guard users.isEmpty else { throw RetirementRefusal.inUse(kekID: kekID, instances: users) }
            let remaining = try connection.query(
                "SELECT (SELECT count(*) FROM subjects WHERE kek_id = $1) + (SELECT count(*) FROM vault_keys WHERE kek_id = $1)", [.text(kekID)]
            ).decodeScalar(Int.self) + DeadLetterStore(connection: connection).keyCount(wrappedWith: kekID)
            guard remaining == 0 else { throw RetirementRefusal.stillWrapping(kekID: kekID, keys: remaining) }
            // The owner's function checks all of this again and records it: the service cannot write retirements.
            try connection.query("SELECT callaudit_record_kek_retirement($1)", [.text(kekID)])
        }
    }
}
