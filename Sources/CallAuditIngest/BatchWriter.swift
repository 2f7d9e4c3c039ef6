import CallAuditKafka
import CallAuditStore
import Foundation

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
final class BatchWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [PendingBatch] = []
    private var committing = false
    private var resyncing = false
    private var finishing = false
    private var stoppedBy: (any Error)?
    private let exited = DispatchSemaphore(value: 0)
    private let commit: (PendingBatch) throws -> Void

    init(name: String, handle: @escaping (PendingBatch) throws -> Void) {
        self.commit = handle
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Why the writer stopped committing, if it did.
    var failure: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return stoppedBy
    }

    /// Queues a batch; dropped, uncommitted, once the writer has stopped.
    func submit(_ batch: PendingBatch) {
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty && stoppedBy == nil && !resyncing { condition.wait() }
        guard stoppedBy == nil, !resyncing else { return }
        queue.append(batch)
        condition.broadcast()
    }

    /// Whether a handler asked for a resync and the stage drops batches until `resume`.
    var needsResync: Bool {
        condition.lock()
        defer { condition.unlock() }
        return resyncing
    }

    /// Takes batches again after a resync.
    func resume() {
        condition.lock()
        resyncing = false
        condition.broadcast()
        condition.unlock()
    }

    func drain() {
        condition.lock()
        while !queue.isEmpty || committing { condition.wait() }
        condition.unlock()
    }

    /// Commits what was submitted, then ends the thread.
    func finish() {
        condition.lock()
        finishing = true
        condition.broadcast()
        condition.unlock()
        exited.wait()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !finishing { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                exited.signal()
                return
            }
            let batch = queue.removeFirst()
            committing = true
            condition.broadcast()
            condition.unlock()
            var error: (any Error)?
            do { try commit(batch) } catch let failure { error = failure }
            condition.lock()
            committing = false
            if error is ResyncNeeded {
                resyncing = true
                queue.removeAll()
            } else if let error {
                stoppedBy = error
                queue.removeAll()
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
