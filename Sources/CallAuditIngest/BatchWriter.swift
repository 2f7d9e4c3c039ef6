import CallAuditKafka
import CallAuditStore
import Foundation

/// A batch ready to commit, with the raw messages it came from (for the salvage path).
struct PendingBatch: Sendable {
    var batch = IngestBatch()
    var messages: [KafkaMessage] = []
}

/// Commits batches on its own thread, in the order submitted, so decoding the
/// next batch overlaps PostgreSQL's work on this one.
///
/// At most one batch waits while another commits; `drain` returns once every
/// submitted batch is durable, which is what a rebalance and a shutdown wait for.
final class BatchWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [PendingBatch] = []
    private var committing = false
    private var finishing = false
    private let exited = DispatchSemaphore(value: 0)
    private let commit: (PendingBatch) -> Void

    init(commit: @escaping (PendingBatch) -> Void) {
        self.commit = commit
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "callaudit-ingest-writer"
        thread.start()
    }

    func submit(_ batch: PendingBatch) {
        condition.lock()
        while !queue.isEmpty { condition.wait() }
        queue.append(batch)
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
            commit(batch)
            condition.lock()
            committing = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
