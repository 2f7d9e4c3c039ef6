@testable import CallAuditRuntime
import Synchronization
import Testing

@Suite("OrderedWork")
struct OrderedWorkTests {
    struct Failed: Error {}

    @Test("works run at once; results come back in the order they were started, whatever order they finish in")
    func concurrentAndOrdered() throws {
        var work = OrderedWork<Int>()
        let started = Atomic<Int>(0)
        let gates = (0..<3).map { _ in StopSignal() }
        for (index, gate) in gates.enumerated() {
            work.start(name: "ordered-\(index)") {
                started.add(1, ordering: .relaxed)
                gate.wait()
                return index
            }
        }
        #expect(work.count == 3)
        #expect(eventually { started.load(ordering: .relaxed) == 3 }, "all three run at the same time")
        gates[2].signal()
        gates[1].signal()
        gates[0].signal()
        #expect(try work.takeOldest() == 0)
        #expect(try work.takeOldest() == 1)
        #expect(try work.takeOldest() == 2)
        #expect(try work.takeOldest() == nil)
        #expect(work.count == 0)
    }

    @Test("a failed work throws when its turn comes, and is taken: the next result follows")
    func failureInTurn() throws {
        var work = OrderedWork<Int>()
        work.start(name: "ordered-ok") { 1 }
        work.start(name: "ordered-fails") { throw Failed() }
        work.start(name: "ordered-after") { 3 }
        #expect(try work.takeOldest() == 1)
        #expect(throws: Failed.self) { try work.takeOldest() }
        #expect(try work.takeOldest() == 3)
        #expect(try work.takeOldest() == nil)
    }
}
