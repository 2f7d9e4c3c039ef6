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

    /// Changes the batch, and records where its array was before and after.
    static func change(_ batch: inout PendingBatch, _ seen: Mutex<[(before: UInt, after: UInt)]>) {
        let before = address(batch.batch.resumePoints)
        batch.batch.resumePoints[0].nextOffset += 1
        let after = address(batch.batch.resumePoints)
        seen.withLock { $0.append((before, after)) }
    }

    @Test("a batch changed in one stage and handed to the next is never copied")
    func changedInPlace() {
        let seen = Mutex<[(before: UInt, after: UInt)]>([])
        let offsets = Mutex<[Int64]>([])
        let second = BatchWriter(name: "test-second") { batch in
            var batch = consume batch
            Self.change(&batch, seen)
            offsets.withLock { $0.append(batch.batch.resumePoints[0].nextOffset) }
        }
        let first = BatchWriter(name: "test-first") { batch in
            var batch = consume batch
            Self.change(&batch, seen)
            second.submit(consume batch)
        }
        for offset in 0..<5 {
            var batch = PendingBatch()
            batch.batch.resumePoints = [KafkaResumePoint(topic: "calls", partition: 0, nextOffset: Int64(offset * 10))]
            first.submit(consume batch)
        }
        first.finish()
        second.finish()
        #expect(offsets.withLock { $0 } == [2, 12, 22, 32, 42], "both stages changed each batch, in order")
        let addresses = seen.withLock { $0 }
        #expect(addresses.count == 10)
        #expect(addresses.allSatisfy { $0.before == $0.after }, "no stage copied the batch to change it")
    }
}
