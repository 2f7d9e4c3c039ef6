@testable import CallAuditRuntime
import CallAuditStore
import Synchronization
import Testing

@Suite("StopSignal")
struct StopSignalTests {
    @Test("a sleeper wakes at once when the signal comes, however long its sleep")
    func wakesSleeperAtOnce() {
        let stop = StopSignal()
        let woke = Atomic<Bool>(false)
        let sawSignal = Atomic<Bool>(false)
        let started = ContinuousClock.now
        onThread {
            sawSignal.store(stop.wait(for: .seconds(60)), ordering: .relaxed)
            woke.store(true, ordering: .relaxed)
        }
        #expect(throughout(0.1) { !woke.load(ordering: .relaxed) }, "it sleeps until the signal")
        #expect(stop.signal())
        #expect(eventually(within: 1) { woke.load(ordering: .relaxed) })
        let saw = sawSignal.load(ordering: .relaxed)
        #expect(saw)
        #expect(started.duration(to: .now) < .seconds(2))
    }

    @Test("only the first signal counts; once signalled, sleeps return at once and sleep(for:) throws")
    func oneWay() {
        let stop = StopSignal()
        #expect(!stop.isSignalled)
        #expect(stop.wait(for: .milliseconds(10)) == false, "the full sleep, no signal")
        #expect(stop.signal())
        #expect(!stop.signal(), "the second call did not stop it")
        #expect(stop.isSignalled)
        let started = ContinuousClock.now
        #expect(stop.wait(for: .seconds(60)))
        stop.wait()
        #expect(started.duration(to: .now) < .seconds(1))
        #expect(throws: StopRequested.self) { try stop.sleep(for: .seconds(60)) }
        #expect(throws: StopRequested.self) { try stop.check() }
    }
}
