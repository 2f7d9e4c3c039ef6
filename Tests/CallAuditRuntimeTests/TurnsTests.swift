@testable import CallAuditRuntime
import Foundation
import Synchronization
import Testing

@Suite("Turns")
struct TurnsTests {
    @Test("the foreground waits at most for the background turn in progress, never for one begun after it asked")
    func foregroundFirst() {
        let turns = Turns(())
        let begun = Atomic<Int>(0)
        let inTurn = Atomic<Bool>(false)
        let overlapped = Atomic<Bool>(false)
        let stop = StopSignal()
        // The background takes turn after turn, as a chunk's slices do, with no pause between them.
        let background = BackgroundWork<Void, Never>(name: "turns-background") {
            while !stop.isSignalled {
                turns.background { _ in
                    begun.add(1, ordering: .relaxed)
                    if inTurn.exchange(true, ordering: .relaxed) { overlapped.store(true, ordering: .relaxed) }
                    usleep(2_000)
                    inTurn.store(false, ordering: .relaxed)
                }
            }
        }
        #expect(eventually { begun.load(ordering: .relaxed) > 3 })
        for _ in 0..<50 {
            let asked = begun.load(ordering: .relaxed)
            let waitedFor = turns.foreground { _ in
                if inTurn.exchange(true, ordering: .relaxed) { overlapped.store(true, ordering: .relaxed) }
                defer { inTurn.store(false, ordering: .relaxed) }
                return begun.load(ordering: .relaxed) - asked
            }
            // One background turn may begin between reading the count and asking.
            #expect(waitedFor <= 1, "the foreground waited for \(waitedFor) background turns")
        }
        _ = stop.signal()
        background.value()
        let twoAtOnce = overlapped.load(ordering: .relaxed)
        #expect(!twoAtOnce, "two turns at once")
    }

    @Test("when a background turn ends with the foreground and another background use waiting, the foreground goes first")
    func foregroundBeforeAWaitingBackground() {
        for _ in 0..<20 {
            let turns = Turns(())
            let order = Mutex<[String]>([])
            let holding = StopSignal(), release = StopSignal()
            let first = BackgroundWork<Void, Never>(name: "turns-first") {
                turns.background { _ in
                    _ = holding.signal()
                    release.wait()
                }
            }
            holding.wait()
            let foreground = BackgroundWork<Void, Never>(name: "turns-foreground") {
                turns.foreground { _ in order.withLock { $0.append("foreground") } }
            }
            #expect(eventually { turns.foregroundIsWaiting })
            let second = BackgroundWork<Void, Never>(name: "turns-second") {
                turns.background { _ in order.withLock { $0.append("background") } }
            }
            usleep(2_000)  // the second background use is waiting too
            _ = release.signal()
            first.value()
            foreground.value()
            second.value()
            #expect(order.withLock { $0 } == ["foreground", "background"])
        }
    }
}
