import CallAuditDomain
@testable import CallAuditProjections
import CallAuditRuntime
import CallAuditStore
import Synchronization
import Testing

extension DatabaseTests {
@Suite("A written-out rebuild judges its pages two at a time")
struct VerdictPipelineTests {
    @Test("two pages are judged at once without waiting; a third submit waits for the oldest, which is written first")
    func twoPagesAtOnce() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var pipeline = VerdictPipeline(connection: try database.owner())
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
}
}
