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

/// A projection that can rebuild from the whole log in one pass: fold every
/// event in memory, then write its tables once, much faster than batch by batch.
public protocol BulkRebuildable: Projection {
    associatedtype Rebuild: ProjectionRebuild
    /// An empty rebuild, to be fed the whole log in order.
    func makeRebuild() -> Rebuild
}

/// One rebuild in progress.
public protocol ProjectionRebuild {
    /// A page of events made ready to fold.
    associatedtype Page: Sendable
    /// Readies a page (parsing, say). Runs on the reader's thread, a page ahead of `fold`.
    static func prepare(_ events: [StoredEvent]) throws -> Page
    /// Folds the next page of the log in. Throwing abandons the rebuild; the
    /// runner then rebuilds batch by batch, which quarantines the failing stream.
    mutating func fold(_ page: Page) throws
    /// Writes everything folded into the projection's emptied tables; `lastPosition` is where the log was read to.
    mutating func finish(in connection: PostgresConnection, lastPosition: Int64?) throws
}
