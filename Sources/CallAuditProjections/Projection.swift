import CallAuditStore

/// A read model kept from the event log.
///
/// `apply` runs inside the runner's transaction, which also moves the
/// checkpoint, so a projection's state and its checkpoint never disagree.
/// What `apply` throws is classified (`FailureClass`): bad input quarantines
/// the failing event's stream, not the projection; a transient error retries
/// the batch; a fatal one stops the runner.
///
/// A projection refers to its tables by unqualified name: a rebuild points
/// `search_path` at fresh copies of `tables` (and `scratchTables`), fills
/// them, and swaps the `tables` in.
package protocol Projection: Sendable {
    /// Stable name: the checkpoint's key and what operators type.
    var name: String { get }
    /// The tables this projection owns and a rebuild replaces.
    var tables: [String] { get }
    /// Tables the projection writes that are not its own (audit records): a
    /// rebuild lets it write to throwaway copies, then calls `finishRebuild`.
    var scratchTables: [String] { get }
    func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws
    /// Re-judges what the clock alone changes (deadlines passing). Runs in its own transaction when the log is idle.
    func tick(in connection: PostgresConnection) throws
    /// After a rebuild filled fresh tables (still the ones unqualified names
    /// reach), before they are swapped in: brings audit records in line with them.
    func finishRebuild(in connection: PostgresConnection) throws
}

extension Projection {
    package var scratchTables: [String] { [] }
    package func tick(in connection: PostgresConnection) throws {}
    package func finishRebuild(in connection: PostgresConnection) throws {}
}

/// A projection that can rebuild from the whole log in one pass: fold the
/// events in memory, then write its tables by bulk, much faster than batch by batch.
package protocol BulkRebuildable: Projection {
    associatedtype Rebuild: ProjectionRebuild
    /// Tables (of `tables` and `scratchTables`) a folded rebuild fills before
    /// it reads or upserts them by key, if ever: their copies are made without
    /// indexes and indexed before the swap, or when the rebuild asks (`ShadowTables.index`).
    var indexedAfterFill: [String] { get }
    /// An empty rebuild, to be fed the whole log in order.
    func makeRebuild() -> Rebuild
}

extension BulkRebuildable {
    package var indexedAfterFill: [String] { [] }
}

/// One rebuild in progress.
package protocol ProjectionRebuild {
    /// A page of events made ready to fold.
    associatedtype Page: Sendable
    /// Readies a page (parsing, say) from its events' stored JSON, in log
    /// order. Runs on the reader's thread, a page ahead of `fold`.
    static func prepare(_ documents: [String]) throws -> Page
    /// Folds the next page of the log in; `connection` is the rebuild's, for a
    /// projection that writes out part of what it folded to bound its memory.
    /// Throwing bad input abandons the fold; the runner then rebuilds batch by
    /// batch, which quarantines the failing stream.
    mutating func fold(_ page: Page, in connection: PostgresConnection) throws
    /// Writes everything folded into the projection's fresh tables; `lastPosition` is where the log was read to.
    mutating func finish(in connection: PostgresConnection, lastPosition: Int64?) throws
    /// The fold failed with `error` (here or in reading the log): ends any
    /// work still using `connection`, which the runner then rolls back, and
    /// returns the error to report: the first failure, not one that followed
    /// from it (the runner rebuilds batch by batch only after bad input).
    mutating func abandon(after error: any Error) -> any Error
}

extension ProjectionRebuild {
    package mutating func abandon(after error: any Error) -> any Error { error }
}
