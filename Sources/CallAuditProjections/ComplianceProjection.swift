#if canImport(Glibc)
import Glibc
#endif
import CallAuditDomain
import CallAuditStore

/// Every rule of PRODUCT.md §3 as findings, kept from the log.
///
/// Each batch loads the facts of the calls, recordings, holds and requests it
/// touches, folds its events in, re-judges those subjects and reconciles their
/// findings. Facts are judged on event times, so the same events in any order
/// give the same findings; a late event that cures a finding withdraws it.
/// Deadlines (retention, requests) are re-judged by `tick` as the clock passes them.
/// A rebuild skips the batches: it folds the whole log in memory (`ComplianceRebuild`).
public struct ComplianceProjection: BulkRebuildable {
    public let name = "compliance"
    public let policy: Policy
    public let clock: @Sendable () -> Timestamp

    public init(policy: Policy, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now }) {
        self.policy = policy
        self.clock = clock
    }

    public func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        let facts = try ComplianceRebuild.prepare(events)
        var batch = ComplianceBatch(connection: connection, policy: policy)
        try batch.load(for: facts)
        for event in facts { batch.fold.fold(event) }
        try batch.judgeAndSave(now: clock(), logPosition: events.last?.position)
    }

    public func makeRebuild() -> some ProjectionRebuild { ComplianceRebuild(policy: policy, clock: clock) }

    public func tick(in connection: PostgresConnection) throws {
        let now = clock()
        let due = try connection.query(
            "SELECT subject FROM compliance_deadlines WHERE NOT judged_after_due AND due_at < $1::timestamptz ORDER BY due_at LIMIT 10000",
            [.text(now.rfc3339)]
        ).map { $0[0]! }
        guard !due.isEmpty else { return }
        var batch = ComplianceBatch(connection: connection, policy: policy)
        try batch.loadForDeadlines(due)
        try batch.judgeAndSave(now: now, logPosition: nil)
    }

    public func reset(in connection: PostgresConnection) throws {
        try connection.execute(
            """
            TRUNCATE finding_changes, findings, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
                compliance_subject_calls, compliance_deadlines
            """)
    }
}

extension Timestamp {
    /// The wall clock.
    public static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000)
    }
}
