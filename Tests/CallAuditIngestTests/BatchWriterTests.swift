import CallAuditStore
import Synchronization
import Testing

@testable import CallAuditIngest

/// A stage owns the batch it is handed: the seal stage changes it in place,
/// with no copy of its arrays, and hands it on to the writer the same way.
@Suite("Pipeline stages own their batches")
struct BatchWriterTests {
    /// Where an array's elements are. A change to an array something else still
    /// holds copies it first, to a new address (the old buffer is still alive).
    static func address(_ points: [KafkaResumePoint]) -> UInt {
        points.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// What the stages saw: where each batch's array was before and after their change, and the offsets at the end.
    final class Log: Sendable {
        let seen = Mutex<[(before: UInt, after: UInt)]>([])
        let offsets = Mutex<[Int64]>([])

        /// Changes the batch, and records where its array was before and after.
        func change(_ batch: inout PendingBatch) {
            let before = BatchWriterTests.address(batch.batch.resumePoints)
            batch.batch.resumePoints[0].nextOffset += 1
            let after = BatchWriterTests.address(batch.batch.resumePoints)
            seen.withLock { $0.append((before, after)) }
        }
    }

    static func batch(resumingAt offset: Int64) -> PendingBatch {
        var batch = PendingBatch()
        batch.batch.resumePoints = [KafkaResumePoint(topic: "calls", partition: 0, nextOffset: offset)]
        return batch
    }

    @Test("a batch changed in one stage and handed to the next is never copied")
    func changedInPlace() {
        let log = Log()
        let second = BatchWriter(name: "test-second") { batch in
            var batch = consume batch
            log.change(&batch)
            log.offsets.withLock { $0.append(batch.batch.resumePoints[0].nextOffset) }
        }
        let first = BatchWriter(name: "test-first") { batch in
            var batch = consume batch
            log.change(&batch)
            second.submit(consume batch)
        }
        for offset in 0..<5 { first.submit(Self.batch(resumingAt: Int64(offset * 10))) }
        first.finish()
        second.finish()
        #expect(log.offsets.withLock { $0 } == [2, 12, 22, 32, 42], "both stages changed each batch, in order")
        let addresses = log.seen.withLock { $0 }
        #expect(addresses.count == 10)
        #expect(addresses.allSatisfy { $0.before == $0.after }, "no stage copied the batch to change it")
    }
}
