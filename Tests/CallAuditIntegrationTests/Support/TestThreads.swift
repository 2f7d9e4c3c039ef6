import Foundation
import Testing

// The integration tests are synchronous: they block on processes, sockets and
// libpq. Swift Testing runs test bodies on the cooperative thread pool, which
// has one thread per core, so on a 2-core machine two blocked tests would be
// all that ran, however much of their time they spend waiting. `.ownThreads`
// runs each test case on a thread of its own instead, and a count of slots
// bounds how many run at once. `CALLAUDIT_TEST_PARALLELISM` sets the count
// (ops/test, README.md); it is 1 for now: the log's horizon (the oldest
// transaction id still running) is the cluster's, not the database's, so a
// test holding a transaction open, or only writing at the same moment, holds
// back the projections of every other test on the cluster, and tests that
// catch a projection up once and check it then fail. Above 1 needs a cluster
// per slot, or every one-shot catch-up waiting for the horizon first. The
// suites of their own clusters (OwnClusterTests) and the unit tests run
// alongside all the same: their threads are their own, not the pool's.

/// Runs each test case of the suite it is on (and of the suites inside) on a thread of its own, within the shared slots.
struct OwnThreads: TestTrait, SuiteTrait, TestScoping {
    /// Whether a test case waits for one of the shared slots.
    var takesSlot = true

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        // Only test cases take a slot: a suite holding one while its tests wait for one would deadlock.
        testCase == nil ? nil : self
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard takesSlot else {
            return try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
        }
        try await TestSlots.shared.withSlot {
            try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
        }
    }
}

extension Trait where Self == OwnThreads {
    /// Each test case on a thread of its own, at most `CALLAUDIT_TEST_PARALLELISM` at a time.
    static var ownThreads: Self { Self() }

    /// For a serialized suite, one test at a time already: each on a thread of its own, without waiting for a
    /// slot, so that its chain of tests never queues behind the parallel ones (it runs as one more beside them).
    static var ownThreadsOutsideSlots: Self { Self(takesSlot: false) }
}

/// How many test cases under `.ownThreads` run at once.
actor TestSlots {
    static let shared = TestSlots(count: Int(environment["CALLAUDIT_TEST_PARALLELISM"] ?? "") ?? 1)

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = max(1, count) }

    func withSlot(_ body: @Sendable () async throws -> Void) async throws {
        await acquire()
        do {
            try await body()
        } catch {
            release()
            throw error
        }
        release()
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// A task executor that runs every job on a new thread: a synchronous test
/// body is one job, and blocks only its own thread.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        // The tests' own stacks: deep JSON and the simulator want more than a secondary thread's default.
        thread.stackSize = 8 << 20
        thread.start()
    }
}
