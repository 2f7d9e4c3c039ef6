@testable import CallAuditRuntime
import CallAuditStore
import Synchronization
import Testing

/// The shutdown cancellation policy against a real statement: `SELECT pg_sleep(30)` stands for
/// any libpq call that blocks (a lock wait, a commit waiting for a standby).
@Suite("ShutdownCancellation")
struct ShutdownCancellationTests {
    /// Runs `sql` on a thread of its own on a session held in `slot`; the outcome once it ends.
    final class Blocking: Sendable {
        let slot = CancelSlot()
        let outcome = Mutex<Result<Void, PostgresError>?>(nil)

        init(_ database: ScratchDatabase, sql: String = "SELECT pg_sleep(30)", after delay: Duration = .zero) throws {
            let connection = PostgresConnection.Handle(try database.connect())
            slot.hold(connection.connection)
            onThread { [self] in
                StopSignal().wait(for: delay)
                let result = Result { () throws(PostgresError) in _ = try connection.connection.query(sql) }
                slot.hold(nil)
                outcome.withLock { $0 = result }
            }
        }

        var sqlState: String? {
            outcome.withLock { result in
                guard case .failure(let error) = result else { return nil }
                return error.sqlState
            }
        }
        var ended: Bool { outcome.withLock { $0 != nil } }
    }

    @Test("with no grace, a blocking statement is cancelled at once on stop")
    func cancelsAtOnce() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let blocking = try Blocking(database)
        let cancellation = ShutdownCancellation(grace: .zero, slots: [blocking.slot])
        #expect(throughout(0.3) { !blocking.ended }, "pg_sleep blocks")
        let stopped = ContinuousClock.now
        cancellation.begin()
        #expect(eventually(within: 5) { blocking.ended })
        #expect(stopped.duration(to: .now) < .seconds(3))
        #expect(blocking.sqlState == "57014", "query_canceled")
        cancellation.end()
    }

    @Test("the grace is waited for before the first cancel")
    func waitsForTheGrace() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let blocking = try Blocking(database)
        let cancellation = ShutdownCancellation(grace: .seconds(1), slots: [blocking.slot])
        let stopped = ContinuousClock.now
        cancellation.begin()
        #expect(throughout(0.5) { !blocking.ended }, "not within the grace")
        #expect(eventually(within: 5) { blocking.ended })
        #expect(stopped.duration(to: .now) >= .seconds(1))
        #expect(blocking.sqlState == "57014")
        cancellation.end()
    }

    @Test("a statement that starts after the first cancel is cancelled too: cancels repeat until the worker ends")
    func repeatsUntilEnded() throws {
        let database = try ScratchDatabase.create()
        defer { database.drop() }
        let blocking = try Blocking(database, after: .milliseconds(500))
        let cancellation = ShutdownCancellation(grace: .zero, slots: [blocking.slot])
        cancellation.begin()
        #expect(eventually(within: 5) { blocking.ended })
        #expect(blocking.sqlState == "57014")
        cancellation.end()
    }

    @Test("once the worker ended, nothing more is cancelled")
    func endStopsCancelling() {
        let calls = Atomic<Int>(0)
        let counting = ShutdownCancellation(grace: .zero) { calls.add(1, ordering: .relaxed) }
        counting.begin()
        counting.begin()
        #expect(eventually { calls.load(ordering: .relaxed) >= 2 }, "repeated")
        counting.end()
        let after = calls.load(ordering: .relaxed)
        #expect(throughout(0.3) { calls.load(ordering: .relaxed) <= after + 1 })
    }
}
