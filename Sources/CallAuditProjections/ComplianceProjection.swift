#if canImport(Glibc)
import Glibc
#endif
import CallAuditDomain
import CallAuditStore

/// Every rule of docs/product.md §3 as findings, kept from the log.
///
/// Each batch loads the facts of the calls, recordings, holds and requests it
/// touches, folds its events in, re-judges those subjects and reconciles their
/// findings. Facts are judged on event times, so the same events in any order
/// give the same findings; a late event that cures a finding withdraws it.
/// Deadlines (retention, requests) are re-judged by `tick` as the clock passes them.
/// A rebuild skips the batches: it folds the log in memory a chunk at a time (`ComplianceRebuild`).
package struct ComplianceProjection: BulkRebuildable {
    package let name = "compliance"
    package let tables = [
        "compliance_calls", "compliance_recordings", "compliance_holds", "compliance_requests", "compliance_subject_calls",
        "compliance_deadlines", "findings",
    ]
    /// The finding history is an audit record: a rebuild reconciles it (`finishRebuild`) instead of rewriting it.
    package let scratchTables = ["finding_changes"]
    package let policy: Policy
    package let clock: @Sendable () -> Timestamp
    package let rebuildLimits: ComplianceRebuildLimits

    package init(
        policy: Policy, clock: @escaping @Sendable () -> Timestamp = { Timestamp.now }, rebuildLimits: ComplianceRebuildLimits = .init()
    ) {
        self.policy = policy
        self.clock = clock
        self.rebuildLimits = rebuildLimits
    }

    package func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        let facts = try ComplianceRebuild.prepare(events.map(\.json))
        var batch = ComplianceBatch(connection: connection, policy: policy)
        try batch.load(for: facts)
        for event in facts { batch.fold.fold(event) }
        try batch.judgeAndSave(now: clock(), logPosition: events.last?.position)
    }

    /// A rebuild held in one chunk only COPYs into its tables; one written out
    /// chunk by chunk indexes the fact tables before the first chunk
    /// (`ComplianceRebuild.factTables`). Findings, deadlines and requests are only ever COPYed.
    package var indexedAfterFill: [String] { tables }

    package func makeRebuild() -> some ProjectionRebuild { ComplianceRebuild(policy: policy, clock: clock, limits: rebuildLimits) }

    package func tick(in connection: PostgresConnection) throws {
        let now = clock()
        let due = try connection.query(
            "SELECT subject FROM compliance_deadlines WHERE NOT judged_after_due AND due_at < $1::timestamptz ORDER BY due_at LIMIT 10000",
            [.text(now.rfc3339)]
        ).decode(String.self)
        guard !due.isEmpty else { return }
        var batch = ComplianceBatch(connection: connection, policy: policy)
        try batch.loadForDeadlines(due)
        try batch.judgeAndSave(now: now, logPosition: nil)
    }

    package func finishRebuild(in connection: PostgresConnection) throws {
        try FindingsTable(connection: connection).reconcileHistory()
    }
}
