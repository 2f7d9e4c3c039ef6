@testable import CallAuditRuntime
import Synchronization
import Testing

@Suite("Worker")
struct WorkerTests {
    struct Failed: Error {}

    /// A worker whose handler records what it got, and holds each call until `gate` opens.
    final class Recorder: Sendable {
        let gate = StopSignal()
        let handled = Mutex<[[Int]]>([])
        let calls = Atomic<Int>(0)

        func handle(_ items: [Int]) throws {
            calls.add(1, ordering: .relaxed)
            gate.wait()
            handled.withLock { $0.append(items) }
            if items.contains(-1) { throw Failed() }
        }

        var all: [[Int]] { handled.withLock { $0 } }
    }

    final class Box: Sendable {}

    @Test("the handler owns its items: the worker and the submitter keep no reference to them")
    func handlerOwnsItems() {
        let recorder = Recorder()
        let worker = Worker<Box>(name: "test-worker", depth: 4, batch: 4) { items in
            var items = consume items
            // 1 for each item the handler holds alone, 0 for one held elsewhere too.
            try recorder.handle(items.indices.map { isKnownUniquelyReferenced(&items[$0]) ? 1 : 0 })
        }
        recorder.gate.signal()
        for _ in 0..<6 { worker.submit(Box()) }
        worker.finish()
        #expect(recorder.all.joined().allSatisfy { $0 == 1 } && recorder.all.joined().count == 6)
    }

    @Test("submit waits while the queue is full (back-pressure); items are handled in order")
    func backPressure() {
        let recorder = Recorder()
        let worker = Worker<Int>(name: "test-worker", depth: 1) { try recorder.handle($0) }
        let submitted = Atomic<Int>(0)
        onThread {
            for item in 1...4 where worker.submit(item) { submitted.add(1, ordering: .relaxed) }
        }
        // One in the handler, one queued: the third submission waits.
        #expect(eventually { recorder.calls.load(ordering: .relaxed) == 1 && submitted.load(ordering: .relaxed) == 2 })
        #expect(throughout(0.2) { submitted.load(ordering: .relaxed) == 2 })
        recorder.gate.signal()
        #expect(eventually { submitted.load(ordering: .relaxed) == 4 })
        worker.drain()
        #expect(recorder.all == [[1], [2], [3], [4]])
        worker.finish()
    }

    @Test("finish handles what is queued, refuses what comes after, and ends the thread")
    func finishDrains() {
        let recorder = Recorder()
        let worker = Worker<Int>(name: "test-worker", depth: 10, batch: 10) { try recorder.handle($0) }
        #expect(worker.submit(1))
        #expect(eventually { recorder.calls.load(ordering: .relaxed) == 1 })
        #expect(worker.offer(2) == .queued && worker.offer(3) == .queued)
        let finished = Atomic<Bool>(false)
        onThread {
            worker.finish()
            finished.store(true, ordering: .relaxed)
        }
        // Until `finish` has begun, an offer is still queued; from then on, refused.
        var queued = [2, 3]
        #expect(eventually {
            let item = queued.count + 2
            switch worker.offer(item) {
            case .queued: queued.append(item)
            case .full: break
            case .refused: return true
            }
            return false
        }, "refused once finishing")
        #expect(throughout(0.1) { !finished.load(ordering: .relaxed) }, "finish waits for the queued items")
        recorder.gate.signal()
        #expect(eventually { finished.load(ordering: .relaxed) })
        #expect(recorder.all == [[1], queued], "a batch takes everything queued, and nothing offered after finish")
    }

    @Test("a failing handler halts the worker: the queue is dropped and submissions refused until resume")
    func haltAndResume() {
        let recorder = Recorder()
        recorder.gate.signal()
        let worker = Worker<Int>(name: "test-worker", depth: 1) { try recorder.handle($0) }
        worker.submit(-1)
        #expect(eventually { worker.halt != nil })
        #expect(worker.halt is Failed)
        #expect(!worker.submit(5), "refused while halted")
        #expect(worker.offer(5) == .refused)
        worker.resume(if: { !($0 is Failed) })
        #expect(worker.halt != nil, "a halt the predicate refuses stays")
        worker.resume()
        #expect(worker.submit(6))
        worker.finish()
        #expect(recorder.all == [[-1], [6]])
    }

    @Test("offer never waits: a full queue says so")
    func offerWhenFull() {
        let recorder = Recorder()
        let worker = Worker<Int>(name: "test-worker", depth: 1) { try recorder.handle($0) }
        #expect(worker.offer(1) == .queued)
        #expect(eventually { recorder.calls.load(ordering: .relaxed) == 1 })
        #expect(worker.offer(2) == .queued)
        #expect(worker.offer(3) == .full)
        recorder.gate.signal()
        worker.finish()
        #expect(recorder.all == [[1], [2]])
    }
}
