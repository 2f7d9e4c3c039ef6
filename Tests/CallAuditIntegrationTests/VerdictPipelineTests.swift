import CallAuditDomain
@testable import CallAuditProjections
import CallAuditRuntime
import CallAuditStore
import Synchronization
import Testing

extension DatabaseTests {
@Suite("A written-out rebuild judges its pages several at a time, in order")
struct VerdictPipelineTests {
    @Test("two pages are judged at once without waiting; a third submit waits for the oldest, which is written first")
    func twoPagesAtOnce() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var pipeline = VerdictPipeline(connection: try database.owner(), depth: 2)
        let started = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let gates = (0..<3).map { _ in StopSignal() }
        let now = Timestamp(microseconds: 0)
        func judge(_ index: Int) -> @Sendable () throws -> JudgedPage {
            { [gate = gates[index]] in
                started.add(1, ordering: .relaxed)
                gate.wait()
                finished.add(1, ordering: .relaxed)
                return JudgedPage(ComplianceVerdicts(), now: now)
            }
        }
        try pipeline.submit(judge(0))
        try pipeline.submit(judge(1))
        #expect(waitUntil(seconds: 10) { started.load(ordering: .relaxed) == 2 }, "both pages are judged at the same time")
        gates[0].signal()
        gates[2].signal()
        try pipeline.submit(judge(2))
        #expect(finished.load(ordering: .relaxed) >= 1, "the third submit took the oldest page's verdicts")
        gates[1].signal()
        try pipeline.drain()
        #expect(finished.load(ordering: .relaxed) == 3, "drain waits for every page")
    }

    @Test("never more than depth pages are judged at once: the oldest is written before another starts")
    func atMostDepthAtOnce() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var pipeline = VerdictPipeline(connection: try database.owner(), depth: 2)
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let gates = (0..<3).map { _ in StopSignal() }
        let now = Timestamp(microseconds: 0)
        func judge(_ index: Int) -> @Sendable () throws -> JudgedPage {
            { [gate = gates[index]] in
                _ = peak.max(running.add(1, ordering: .sequentiallyConsistent).newValue, ordering: .sequentiallyConsistent)
                gate.wait()
                running.subtract(1, ordering: .sequentiallyConsistent)
                return JudgedPage(ComplianceVerdicts(), now: now)
            }
        }
        try pipeline.submit(judge(0))
        try pipeline.submit(judge(1))
        #expect(waitUntil(seconds: 10) { running.load(ordering: .relaxed) == 2 })
        // The third submit waits on page 0. Page 0 is let go once a third
        // judge runs, or after 3 s if none does (as it must not).
        let releaser = BackgroundWork<Void, Never>(name: "verdict-release") {
            _ = waitUntil(seconds: 3) { running.load(ordering: .relaxed) == 3 }
            gates[0].signal()
        }
        try pipeline.submit(judge(2))
        releaser.value()
        gates[1].signal()
        gates[2].signal()
        try pipeline.drain()
        #expect(peak.load(ordering: .relaxed) == 2, "judges at once at the peak")
    }

    struct JudgeFailed: Error, Equatable { var page: Int }

    @Test("a page's judging error is thrown in page order, and every judge thread ends")
    func errorsInPageOrder() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var pipeline = VerdictPipeline(connection: try database.owner(), depth: 2)
        let started = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let now = Timestamp(microseconds: 0)
        func judge(_ index: Int, fails: Bool) -> @Sendable () throws -> JudgedPage {
            {
                started.add(1, ordering: .relaxed)
                defer { finished.add(1, ordering: .relaxed) }
                if fails { throw JudgeFailed(page: index) }
                return JudgedPage(ComplianceVerdicts(), now: now)
            }
        }
        try pipeline.submit(judge(0, fails: false))
        try pipeline.submit(judge(1, fails: true))
        try pipeline.submit(judge(2, fails: true))  // writes page 0
        #expect(throws: JudgeFailed(page: 1)) { try pipeline.submit(judge(3, fails: false)) }
        #expect(throws: JudgeFailed(page: 2)) { try pipeline.drain() }
        try pipeline.drain()
        #expect(waitUntil(seconds: 10) { finished.load(ordering: .relaxed) == started.load(ordering: .relaxed) }, "no judge thread is left running")
    }
}
}
