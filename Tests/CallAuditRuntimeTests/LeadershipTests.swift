@testable import CallAuditRuntime
import CallAuditStore
import Synchronization
import Testing

/// Leader election on its own: two contenders for one name on a scratch database.
/// (The service's leaders under fencing, frozen and superseded, are in CallAuditIntegrationTests.)
@Suite("Leadership")
struct LeadershipTests {
    @Test("of two contenders one leads; the other takes over when the leader's session dies, and the stale leader's commit is fenced")
    func takeoverAndFencing() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let name = "callaudit.runtime-test"
        let first = Leadership(name: name, database: database.configuration, application: "contender-first", logger: quietLogger)
        let second = Leadership(name: name, database: database.configuration, application: "contender-second", logger: quietLogger)
        let stale = try #require(try first.tryAcquire())
        #expect(try second.tryAcquire() == nil, "one leads")
        #expect(first.isHeld())

        // The second stands by in `acquire`, polling, until the first's lock session dies.
        let stop = StopSignal()
        let taken = Mutex<LeadershipFence?>(nil)
        onThread {
            let fence = second.acquire(pollEvery: .milliseconds(50), until: stop)
            taken.withLock { $0 = fence }
        }
        defer { stop.signal() }
        #expect(throughout(0.3) { taken.withLock { $0 } == nil }, "it stands by while the first leads")
        try database.connect().query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'contender-first'")
        #expect(eventually { taken.withLock { $0 } != nil })
        let current = try #require(taken.withLock { $0 })
        #expect(current.epoch == stale.epoch + 1, "taking over bumps the epoch")
        #expect(second.fence == current)
        #expect(!first.isHeld(), "the first notices it lost its session")
        #expect(first.fence == nil)

        // A transaction the stale leader commits is refused; the current leader's commits.
        let connection = try database.connect()
        #expect(throws: LeadershipLost.self) {
            try connection.transaction { try stale.check(on: connection) }
        }
        try connection.transaction { try current.check(on: connection) }
        #expect(try Leadership.current(on: connection).first { $0.name == name }?.epoch == current.epoch)
    }

    @Test("a contender standing by returns nil at once when told to stop")
    func standByEndsOnStop() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let leader = Leadership(name: "callaudit.runtime-stop", database: database.configuration, application: "leader", logger: quietLogger)
        #expect(try leader.tryAcquire() != nil)
        let standby = Leadership(name: "callaudit.runtime-stop", database: database.configuration, application: "standby", logger: quietLogger)
        let stop = StopSignal()
        let returned = Atomic<Bool>(false)
        onThread {
            let fence = standby.acquire(pollEvery: .seconds(60), until: stop)
            returned.store(fence == nil, ordering: .relaxed)
        }
        #expect(throughout(0.3) { !returned.load(ordering: .relaxed) })
        stop.signal()
        #expect(eventually(within: 2) { returned.load(ordering: .relaxed) }, "not after the 60 s poll")
    }

    /// Closing a session frees its locks only once its backend has exited, which is after the
    /// client has hung up; so release unlocks on the session first. Handing over back and forth,
    /// the other contender, standing by with its session open, must get the lock at its next attempt every time.
    @Test("release gives the lock up at once: the other contender takes it on its first attempt, 40 times over")
    func releaseHandsOver() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let contenders = ["first", "second"].map {
            Leadership(name: "callaudit.runtime-release", database: database.configuration, application: $0, logger: quietLogger)
        }
        var epoch = try #require(try contenders[0].tryAcquire()).epoch
        for round in 1...40 {
            // The one standing by has its session open, as a standby's is: nothing delays its next attempt.
            #expect(try contenders[round % 2].tryAcquire() == nil, "round \(round): one leads")
            contenders[(round - 1) % 2].release()
            #expect(contenders[(round - 1) % 2].fence == nil)
            let next = try #require(try contenders[round % 2].tryAcquire(), "round \(round)")
            #expect(next.epoch == epoch + 1)
            epoch = next.epoch
        }
    }
}
