@testable import CallAuditRuntime
import Synchronization
import Testing

@Suite("BackgroundWork")
struct BackgroundWorkTests {
    struct Failed: Error {}

    @Test("the result is delivered once and kept: the work runs once, every value() returns it")
    func deliveredOnce() {
        let runs = Atomic<Int>(0)
        let gate = StopSignal()
        let work = BackgroundWork<Int, Never> {
            runs.add(1, ordering: .relaxed)
            gate.wait()
            return 42
        }
        #expect(eventually { runs.load(ordering: .relaxed) == 1 }, "it starts without being asked")
        #expect(!work.isDone)
        gate.signal()
        #expect(work.value() == 42)
        #expect(work.value() == 42)
        #expect(work.isDone)
        #expect(runs.load(ordering: .relaxed) == 1)
    }

    @Test("an error is the result: every value() throws it")
    func errors() {
        let work = BackgroundWork<Int, any Error> { throw Failed() }
        #expect(throws: Failed.self) { try work.value() }
        #expect(throws: Failed.self) { try work.value() }
    }

    @Test("work already done answers at once")
    func completed() throws {
        let work = BackgroundWork<String, any Error>(completed: .success("done"))
        #expect(work.isDone)
        #expect(try work.value() == "done")
    }
}
