/// A leader's proof of leadership, checked inside each transaction it commits.
///
/// Who leads is decided by `Leadership` (CallAuditRuntime): taking its lock
/// bumps the name's epoch in `leaderships`, and the fence carries the epoch
/// taken. It lives here, beside the store, because the store's transactions check it.
package struct LeadershipFence: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    package let epoch: Int64

    package init(name: String, epoch: Int64) {
        self.name = name
        self.epoch = epoch
    }

    /// Inside the caller's open transaction, just before COMMIT: throws
    /// `LeadershipLost` (the caller rolls back) unless the epoch is still
    /// ours. The row stays share-locked until COMMIT, so no successor's bump
    /// can slip in between.
    package func check(on connection: PostgresConnection) throws {
        let current = try connection.query("SELECT callaudit_leadership_epoch($1)", [.text(name)]).scalar.flatMap(Int64.init)
        guard current == epoch else { throw LeadershipLost(name: name, epoch: epoch, current: current) }
    }

    package var description: String { "\(name) epoch \(epoch)" }
}

/// A leader's transaction was refused: another instance took over since (a newer epoch).
/// Not a failure of the service: the process stands by again.
package struct LeadershipLost: Error, Sendable, CustomStringConvertible {
    package let name: String
    package let epoch: Int64
    package let current: Int64?

    package var description: String {
        "\(name): this instance led at epoch \(epoch), now \(current.map(String.init) ?? "none"); its transaction was rolled back"
    }
}

/// The last recorded taking of one leadership.
package struct LeadershipRecord: Sendable, Equatable {
    package var name: String
    package var epoch: Int64
    package var holder: String
    package var acquiredAt: String

    package init(name: String, epoch: Int64, holder: String, acquiredAt: String) {
        self.name = name
        self.epoch = epoch
        self.holder = holder
        self.acquiredAt = acquiredAt
    }
}
