@testable import CallAuditRuntime
import Synchronization
import Testing

@Suite("BoundedQueue")
struct BoundedQueueTests {
    struct Failed: Error, Equatable {}

    @Test("put waits while the queue is full and goes on when the consumer takes one")
    func backPressure() throws {
        let queue = BoundedQueue<Int>(depth: 2)
        let queued = Atomic<Int>(0)
        onThread {
            for item in 1...5 where queue.put(item) { queued.add(1, ordering: .relaxed) }
            queue.finish()
        }
        #expect(eventually { queued.load(ordering: .relaxed) == 2 })
        #expect(throughout(0.2) { queued.load(ordering: .relaxed) == 2 }, "the third put waits")
        #expect(try queue.take() == 1)
        #expect(eventually { queued.load(ordering: .relaxed) == 3 })
        var rest: [Int] = []
        while let item = try queue.take() { rest.append(item) }
        #expect(rest == [2, 3, 4, 5], "in order, then nil once the producer finished")
    }

    @Test("finish drains: what was queued is taken, then the producer's failure is thrown")
    func drainsThenFails() throws {
        let queue = BoundedQueue<Int>(depth: 3)
        #expect(queue.put(1) && queue.put(2))
        queue.finish(failure: Failed())
        #expect(try queue.take() == 1)
        #expect(try queue.take() == 2)
        #expect(throws: Failed.self) { try queue.take() }
    }

    @Test("close drops what is queued and frees a producer waiting on a full queue")
    func closeFreesProducer() throws {
        let queue = BoundedQueue<Int>(depth: 1)
        #expect(queue.put(1))
        let refused = Atomic<Bool>(false)
        onThread { refused.store(!queue.put(2), ordering: .relaxed) }
        queue.close()
        #expect(eventually { refused.load(ordering: .relaxed) })
        #expect(try queue.take() == nil)
    }
}
