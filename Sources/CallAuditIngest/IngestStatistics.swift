import Synchronization

/// Running totals of one ingest process, safe to read from any thread.
public final class IngestStatistics: Sendable {
    public let stored = Atomic<Int>(0)
    public let duplicates = Atomic<Int>(0)
    public let deadLettered = Atomic<Int>(0)
    public let batches = Atomic<Int>(0)
    public let retries = Atomic<Int>(0)

    public init() {}

    public var summary: String {
        "stored=\(stored.load(ordering: .relaxed)) duplicates=\(duplicates.load(ordering: .relaxed)) "
            + "dead_lettered=\(deadLettered.load(ordering: .relaxed)) batches=\(batches.load(ordering: .relaxed)) "
            + "retries=\(retries.load(ordering: .relaxed))"
    }
}
