#if canImport(Glibc)
import Glibc
#endif
import CallAuditKafka
import Synchronization

/// Running totals of one ingest process, safe to read from any thread.
package final class IngestStatistics: Sendable {
    package let stored = Atomic<Int>(0)
    package let duplicates = Atomic<Int>(0)
    package let deadLettered = Atomic<Int>(0)
    package let batches = Atomic<Int>(0)
    package let retries = Atomic<Int>(0)
    /// Batches refused because another instance took the lead after they were read.
    package let superseded = Atomic<Int>(0)
    /// Whether sealing waits for a KEK this instance's KEK file lacks.
    package let kekMissing = Atomic<Bool>(false)
    /// Time each pipeline stage spent working (not waiting), in nanoseconds: where ingest's time goes.
    package let pollNanoseconds = Atomic<Int>(0)
    package let sealNanoseconds = Atomic<Int>(0)
    package let commitNanoseconds = Atomic<Int>(0)
    /// CPU time of the same stages' threads, in nanoseconds (the rest of their busy time is waiting on PostgreSQL).
    package let pollCPUNanoseconds = Atomic<Int>(0)
    package let sealCPUNanoseconds = Atomic<Int>(0)
    package let commitCPUNanoseconds = Atomic<Int>(0)

    package init() {}

    package var summary: String {
        "stored=\(stored.load(ordering: .relaxed)) duplicates=\(duplicates.load(ordering: .relaxed)) "
            + "dead_lettered=\(deadLettered.load(ordering: .relaxed)) batches=\(batches.load(ordering: .relaxed)) "
            + "retries=\(retries.load(ordering: .relaxed)) superseded=\(superseded.load(ordering: .relaxed))"
    }
}

/// CPU time the calling thread has used, in nanoseconds.
func threadCPUNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}
