import Synchronization

/// Running totals of one ingest process, safe to read from any thread.
package final class IngestStatistics: Sendable {
    package let stored = Atomic<Int>(0)
    package let duplicates = Atomic<Int>(0)
    package let deadLettered = Atomic<Int>(0)
    package let batches = Atomic<Int>(0)
    package let retries = Atomic<Int>(0)

    package init() {}

    package var summary: String {
        "stored=\(stored.load(ordering: .relaxed)) duplicates=\(duplicates.load(ordering: .relaxed)) "
            + "dead_lettered=\(deadLettered.load(ordering: .relaxed)) batches=\(batches.load(ordering: .relaxed)) "
            + "retries=\(retries.load(ordering: .relaxed))"
    }
}
