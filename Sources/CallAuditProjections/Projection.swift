import CallAuditStore

/// A read model kept from the event log.
///
/// `apply` runs inside the runner's transaction, which also moves the
/// checkpoint, so a projection's state and its checkpoint never disagree.
/// Throwing from `apply` quarantines the failing event's stream, not the projection.
public protocol Projection: Sendable {
    /// Stable name: the checkpoint's key and what operators type.
    var name: String { get }
    func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws
    /// Empties the projection's tables, for a rebuild.
    func reset(in connection: PostgresConnection) throws
    /// Re-judges what the clock alone changes (deadlines passing). Runs in its own transaction when the log is idle.
    func tick(in connection: PostgresConnection) throws
}

extension Projection {
    public func tick(in connection: PostgresConnection) throws {}
}
