import CallAuditKafka
import CallAuditRuntime
import CallAuditStore

/// A batch ready to commit, with the raw messages it came from (for dead-lettering what the server rejects).
struct PendingBatch: Sendable {
    var batch = IngestBatch()
    var messages: [KafkaMessage] = []
    /// The leadership it was read under (exclusive membership), checked in its commit.
    var fence: LeadershipFence?
}

/// One stage of ingest's pipeline on a thread of its own (sealing, then
/// committing), taking batches in the order submitted, so each stage works on
/// one batch while the stage before it prepares the next.
///
/// At most one batch waits while another is handled; `drain` returns once
/// every submitted batch is through, which is what a rebalance and a shutdown
/// wait for.
///
/// Once a batch fails for good (a fatal error, or a stop while PostgreSQL
/// could not take it), the stage handles nothing more: every later batch
/// carries positions past the failed one, and storing them would skip it.
///
/// A handler that throws `ResyncNeeded` puts the stage in resync instead: it
/// drops what is queued and every batch submitted until `resume`, which the
/// polling thread calls once it has rewound the partitions to the stored positions.
///
/// The handler owns its batch (`Worker` keeps no reference): the seal stage
/// seals it in place, and a stage that hands a batch on holds nothing after.
struct BatchWriter: Sendable {
    private let worker: Worker<PendingBatch>

    init(name: String, handle: @escaping @Sendable (consuming PendingBatch) throws -> Void) {
        worker = Worker(name: name, depth: 1) { batches in
            // Each taken out of the array, which would otherwise hold a second reference to it.
            var batches = consume batches
            batches.reverse()
            while let batch = batches.popLast() { try handle(consume batch) }
        }
    }

    /// Why the writer stopped committing, if it did.
    var failure: (any Error)? { worker.halt.flatMap { $0 is ResyncNeeded ? nil : $0 } }

    /// Queues a batch, waiting while another one waits; dropped, uncommitted, once the writer has stopped.
    func submit(_ batch: consuming PendingBatch) { worker.submit(consume batch) }

    /// Why a handler asked for a resync, while the stage drops batches until `resume`.
    var resync: ResyncNeeded? { worker.halt as? ResyncNeeded }
    var needsResync: Bool { resync != nil }

    /// Takes batches again after a resync (never after a failure).
    func resume() { worker.resume(if: { $0 is ResyncNeeded }) }

    /// Waits until every submitted batch is through.
    func drain() { worker.drain() }

    /// Commits what was submitted, then ends the thread.
    func finish() { worker.finish() }
}
