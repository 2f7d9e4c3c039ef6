import CallAuditDomain
import CallAuditQueries
import CallAuditStore
import Crypto
import Foundation

/// What a report says about a period, read through the modules that own the
/// tables: the activity projection for what happened, the compliance
/// projection for findings and subject requests (both `CallAuditQueries`),
/// the event log for accepted gaps (`CallAuditStore`). Reports write no SQL
/// over tables they do not own; this turns those reads into the document's parts.
struct ReportSources {
    let connection: PostgresConnection
    let policy: Policy
    let period: ReportPeriod

    /// Rules that make a recorded call non-compliant.
    static let consentRules: [RuleID] = [.consentMissing, .recordedAfterRefusal]
    /// Rules that flag a use of a recording in the access review.
    static let accessRules: [RuleID] = [
        .accessUnauthorizedRole, .accessInvalidPurpose, .trainingNotAnonymized, .accessAfterDeletion, .transferWithoutBasis,
    ]
    /// Rules that say a subject request is overdue.
    static let overdueRequestRules: [RuleID] = [.erasureOverdue, .subjectRequestOverdue]

    private var activity: PeriodActivity { PeriodActivity(connection: connection, from: period.start, to: period.end) }
    private var compliance: PeriodCompliance { PeriodCompliance(connection: connection, from: period.start, to: period.end) }

    /// Calls per day of the period and regime; a call is compliant when recorded without a consent finding.
    func calls() throws -> [PeriodActivity.Calls] {
        try activity.callsPerDay(zone: period.timeZone, flaggingRules: Self.consentRules)
    }

    /// The days of the period in its time zone, as `YYYY-MM-DD`.
    func days() throws -> [String] {
        guard let zone = TimeZone(identifier: period.timeZone) else { throw ConfigurationProblem("unknown time zone \(period.timeZone)") }
        return period.days(zone: zone).map { String($0.reportID.dropFirst("day-".count)) }
    }

    /// Accesses and shares in the period by role and purpose.
    func uses() throws -> [ReportDocument.UseCount] {
        try activity.uses().map { ReportDocument.UseCount(kind: $0.kind, role: $0.role, purpose: $0.purpose, count: $0.count) }
    }

    /// Who used recordings in the period, how many of those uses a finding flags, and whether the policy allows their role.
    func accessReview() throws -> [ReportDocument.Reviewer] {
        try activity.actorUses(flaggingRules: Self.accessRules).map {
            ReportDocument.Reviewer(
                actorID: $0.actorID, role: $0.role, accesses: $0.accesses, shares: $0.shares, recordings: $0.recordings,
                purposes: $0.purposes, flagged: $0.flagged, roleAllowed: policy.allowedAccessRoles.contains($0.role))
        }
    }

    /// Deletions in the period, on time or late against the policy's retention: read once, shown in the summary and under retention.
    struct Deletions {
        var byReason: [PeriodActivity.Deletions]

        var summary: ReportDocument.Deletions {
            let (total, onTime) = byReason.reduce((0, 0)) { ($0.0 + $1.count, $0.1 + $1.onTime) }
            return ReportDocument.Deletions(total: total, onTime: onTime, late: total - onTime)
        }

        var counts: [ReportDocument.DeletionCount] { byReason.map { .init(reason: $0.reason, method: $0.method, count: $0.count) } }
    }

    func deletions() throws -> Deletions {
        Deletions(byReason: try activity.deletions(retentionDays: policy.retentionDays))
    }

    /// Recordings whose retention, by the policy, ended in the period: deleted in time, late, not yet, or kept under a hold.
    func retention(deletions: Deletions) throws -> ReportDocument.Retention {
        let due = try activity.retentionDue(retentionDays: policy.retentionDays)
        return ReportDocument.Retention(
            retentionDays: policy.retentionDays, dueInPeriod: due.due, deletedOnTime: due.deletedOnTime, deletedLate: due.deletedLate,
            notDeleted: due.notDeleted, heldAtDue: due.heldAtDue, deletions: deletions.counts)
    }

    /// Subject requests received in the period, how many are answered, how many findings say one is overdue.
    func requests() throws -> ReportDocument.SubjectRequests {
        let counts = try compliance.subjectRequests(overdueRules: Self.overdueRequestRules)
        return ReportDocument.SubjectRequests(received: counts.received, answered: counts.answered, overdue: counts.overdue)
    }

    /// Gaps in the evidence: every accepted Kafka gap whose window (from the
    /// partition's last stored message before the gap to the operator's
    /// acceptance) overlaps the period. Messages lost in it were written to
    /// Kafka in that window, so events of the period may be among them.
    func gaps() throws -> [ReportDocument.EvidenceGap] {
        try AcceptedGaps(connection: connection).overlapping(from: period.start, to: period.end).map { gap in
            ReportDocument.EvidenceGap(
                gapID: gap.gapID, consumerGroup: gap.consumerGroup, topic: gap.topic, partition: gap.partition, kind: gap.kind,
                lostFromOffset: gap.lostFromOffset, lostToOffset: gap.lostToOffset, lostMessages: gap.lostMessages,
                storedOffset: gap.storedOffset, lowWatermark: gap.lowWatermark, highWatermark: gap.highWatermark,
                resumeOffset: gap.resumeOffset, since: gap.lastIngestedAt, acceptedAt: gap.acceptedAt,
                acceptedBy: .init(name: gap.acceptedBy.name, role: gap.acceptedBy.role), reason: gap.reason, eventID: gap.eventID,
                eventPosition: gap.position)
        }
    }

    /// Legal holds in force at the end of the period.
    func openHolds() throws -> Int { try activity.openHoldsAtEnd() }

    /// SHA-256 over the period's open findings (key and fingerprint, in key
    /// order) and their number: a closed period whose digest changes gets a new version.
    /// `digest(of:)` computes the same from findings already read.
    func findingsDigest() throws -> (digest: String, count: Int) { try compliance.findingsDigest() }

    /// `findingsDigest`, from the findings themselves: keys compared bytewise, as COLLATE "C" does.
    static func digest(of findings: [FindingRow]) -> String {
        let sorted = findings.map { (key: Array($0.findingKey.utf8), fingerprint: $0.fingerprint) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var text: [UInt8] = []
        for (index, finding) in sorted.enumerated() {
            if index > 0 { text.append(0x0A) }
            text.append(contentsOf: finding.key)
            text.append(UInt8(ascii: "|"))
            text.append(contentsOf: finding.fingerprint.utf8)
        }
        return Array(SHA256.hash(data: text)).hexString
    }

    /// How far the compliance projection has read the log.
    func coverage() throws -> (cursor: LogCursor, eventsApplied: Int) {
        try ReadSide(connection: connection).checkpoint(of: "compliance") ?? (cursor: .start, eventsApplied: 0)
    }
}
