import CallAuditDomain
import CallAuditQueries
import Foundation

/// A report as it is signed, stored and served: the typed form of its JSON.
///
/// The member names are the report's schema: reports already issued are
/// signed over them, so none may change (a golden report in the unit tests
/// fails on a rename). The signed bytes are this document in RFC 8785
/// canonical form (`canonicalBytes()`); the CSV and HTML renderers read it
/// through these types. Decoding accepts every report ever issued: `type`
/// and `gaps_in_evidence` were added later, and an old report has neither.
package struct ReportDocument: Codable, Sendable {
    /// `callaudit.report` (`DocumentKind`); nil only in reports signed before kinds were named.
    package var type: String?
    package var reportID: String
    package var kind: ReportPeriod.Kind
    package var version: Int
    package var status: ReportGenerator.Status
    package var period: Period
    package var generatedAt: String
    package var policy: PolicyReference
    package var eventStore: EventStoreCoverage
    package var accessReview: [Reviewer]
    package var retention: Retention
    /// Evidence CallAudit knows it never received (accepted Kafka gaps): empty says none; nil in reports that predate the list.
    package var gapsInEvidence: [EvidenceGap]?
    package var summary: Summary
    package var daily: [Day]
    package var findings: [FindingRow]
    /// What changed since the previous version; absent from a first version.
    package var changes: Changes?

    enum CodingKeys: String, CodingKey {
        case type, reportID = "report_id", kind, version, status, period, generatedAt = "generated_at", policy
        case eventStore = "event_store", accessReview = "access_review", retention, gapsInEvidence = "gaps_in_evidence", summary, daily
        case findings, changes
    }

    package struct Period: Codable, Sendable, Equatable {
        package var from: String
        package var to: String
        package var timeZone: String

        enum CodingKeys: String, CodingKey { case from, to, timeZone = "time_zone" }
    }

    /// The policy the findings were judged under.
    package struct PolicyReference: Codable, Sendable, Equatable {
        package var version: String
        package var hash: String
    }

    /// How far the compliance projection had read the log, and the seal that covers that far.
    package struct EventStoreCoverage: Codable, Sendable, Equatable {
        package var through: String
        package var throughPosition: Int64
        package var eventsApplied: Int
        /// Null when no seal covers the log yet (an empty log).
        package var seal: SealReference?

        enum CodingKeys: String, CodingKey {
            case through, throughPosition = "through_position", eventsApplied = "events_applied", seal
        }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(through, forKey: .through)
            try c.encode(throughPosition, forKey: .throughPosition)
            try c.encode(eventsApplied, forKey: .eventsApplied)
            try c.encode(seal, forKey: .seal)  // null, not absent
        }
    }

    package struct SealReference: Codable, Sendable, Equatable {
        package var seal: Int64
        package var sha256: String
        package var merkleRoot: String
        package var throughPosition: Int64
        package var keyID: String

        enum CodingKeys: String, CodingKey {
            case seal, sha256, merkleRoot = "merkle_root", throughPosition = "through_position", keyID = "key_id"
        }
    }

    /// One actor's use of recordings in the period.
    package struct Reviewer: Codable, Sendable, Equatable {
        package var actorID: String
        package var role: String
        package var accesses: Int
        package var shares: Int
        package var recordings: Int
        package var purposes: [String]
        package var flagged: Int
        package var roleAllowed: Bool

        enum CodingKeys: String, CodingKey {
            case actorID = "actor_id", role, accesses, shares, recordings, purposes, flagged, roleAllowed = "role_allowed"
        }
    }

    package struct Retention: Codable, Sendable, Equatable {
        package var retentionDays: Int
        package var dueInPeriod: Int
        package var deletedOnTime: Int
        package var deletedLate: Int
        package var notDeleted: Int
        package var heldAtDue: Int
        package var deletions: [DeletionCount]

        enum CodingKeys: String, CodingKey {
            case retentionDays = "retention_days", dueInPeriod = "due_in_period", deletedOnTime = "deleted_on_time"
            case deletedLate = "deleted_late", notDeleted = "not_deleted", heldAtDue = "held_at_due", deletions
        }
    }

    package struct DeletionCount: Codable, Sendable, Equatable {
        package var reason: String
        package var method: String
        package var count: Int
    }

    /// An accepted Kafka gap whose window overlaps the period (`ingest.gap_accepted`).
    package struct EvidenceGap: Codable, Sendable, Equatable {
        package var gapID: String
        package var consumerGroup: String
        package var topic: String
        package var partition: Int
        package var kind: String
        package var lostFromOffset: Int64
        package var lostToOffset: Int64
        package var lostMessages: Int64
        package var storedOffset: Int64
        package var lowWatermark: Int64
        package var highWatermark: Int64
        package var resumeOffset: Int64
        /// When the partition's last stored message was written; null when it had none.
        package var since: String?
        package var acceptedAt: String
        package var acceptedBy: Actor
        package var reason: String
        package var eventID: String
        package var eventPosition: Int64

        enum CodingKeys: String, CodingKey {
            case gapID = "gap_id", consumerGroup = "consumer_group", topic, partition, kind, lostFromOffset = "lost_from_offset"
            case lostToOffset = "lost_to_offset", lostMessages = "lost_messages", storedOffset = "stored_offset"
            case lowWatermark = "low_watermark", highWatermark = "high_watermark", resumeOffset = "resume_offset", since
            case acceptedAt = "accepted_at", acceptedBy = "accepted_by", reason, eventID = "event_id", eventPosition = "event_position"
        }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(gapID, forKey: .gapID)
            try c.encode(consumerGroup, forKey: .consumerGroup)
            try c.encode(topic, forKey: .topic)
            try c.encode(partition, forKey: .partition)
            try c.encode(kind, forKey: .kind)
            try c.encode(lostFromOffset, forKey: .lostFromOffset)
            try c.encode(lostToOffset, forKey: .lostToOffset)
            try c.encode(lostMessages, forKey: .lostMessages)
            try c.encode(storedOffset, forKey: .storedOffset)
            try c.encode(lowWatermark, forKey: .lowWatermark)
            try c.encode(highWatermark, forKey: .highWatermark)
            try c.encode(resumeOffset, forKey: .resumeOffset)
            try c.encode(since, forKey: .since)  // null, not absent
            try c.encode(acceptedAt, forKey: .acceptedAt)
            try c.encode(acceptedBy, forKey: .acceptedBy)
            try c.encode(reason, forKey: .reason)
            try c.encode(eventID, forKey: .eventID)
            try c.encode(eventPosition, forKey: .eventPosition)
        }
    }

    /// Who accepted a gap.
    package struct Actor: Codable, Sendable, Equatable {
        package var name: String
        package var role: String
    }

    package struct Summary: Codable, Sendable, Equatable {
        package var calls: Int
        package var recordedCalls: Int
        package var complianceByRegime: [RegimeCompliance]
        package var usesByRoleAndPurpose: [UseCount]
        package var deletions: Deletions
        package var subjectRequests: SubjectRequests
        package var openHolds: Int
        package var findings: Int
        /// Findings per rule id; a JSON object, its members in canonical order.
        package var findingsByRule: [String: Int]

        enum CodingKeys: String, CodingKey {
            case calls, recordedCalls = "recorded_calls", complianceByRegime = "compliance_by_regime"
            case usesByRoleAndPurpose = "uses_by_role_and_purpose", deletions, subjectRequests = "subject_requests"
            case openHolds = "open_holds", findings, findingsByRule = "findings_by_rule"
        }
    }

    package struct RegimeCompliance: Codable, Sendable, Equatable {
        package var regime: String
        package var recordedCalls: Int
        package var compliantCalls: Int
        /// Compliant over recorded, to four places; null without recorded calls.
        package var complianceRate: Double?

        enum CodingKeys: String, CodingKey {
            case regime, recordedCalls = "recorded_calls", compliantCalls = "compliant_calls", complianceRate = "compliance_rate"
        }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(regime, forKey: .regime)
            try c.encode(recordedCalls, forKey: .recordedCalls)
            try c.encode(compliantCalls, forKey: .compliantCalls)
            try c.encode(complianceRate, forKey: .complianceRate)  // null, not absent
        }
    }

    /// Accesses or shares by one role for one purpose.
    package struct UseCount: Codable, Sendable, Equatable {
        package var kind: String
        package var role: String
        /// Null when the use named none.
        package var purpose: String?
        package var count: Int

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(role, forKey: .role)
            try c.encode(purpose, forKey: .purpose)  // null, not absent
            try c.encode(count, forKey: .count)
        }
    }

    package struct Deletions: Codable, Sendable, Equatable {
        package var total: Int
        package var onTime: Int
        package var late: Int

        enum CodingKeys: String, CodingKey { case total, onTime = "on_time", late }
    }

    package struct SubjectRequests: Codable, Sendable, Equatable {
        package var received: Int
        package var answered: Int
        package var overdue: Int
    }

    /// Calls, recorded calls and compliant calls on one day of the period.
    package struct Day: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD` in the period's time zone.
        package var day: String
        package var calls: Int
        package var recordedCalls: Int
        package var compliantCalls: Int
        package var complianceRate: Double?

        enum CodingKeys: String, CodingKey {
            case day, calls, recordedCalls = "recorded_calls", compliantCalls = "compliant_calls", complianceRate = "compliance_rate"
        }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(day, forKey: .day)
            try c.encode(calls, forKey: .calls)
            try c.encode(recordedCalls, forKey: .recordedCalls)
            try c.encode(compliantCalls, forKey: .compliantCalls)
            try c.encode(complianceRate, forKey: .complianceRate)  // null, not absent
        }
    }

    /// The findings raised, withdrawn and changed since the previous version.
    package struct Changes: Codable, Sendable, Equatable {
        package var previousVersion: Int
        package var raised: [Change]
        package var withdrawn: [Change]
        package var changed: [Change]

        enum CodingKeys: String, CodingKey { case previousVersion = "previous_version", raised, withdrawn, changed }
    }

    package struct Change: Codable, Sendable, Equatable {
        package var findingKey: String
        package var rule: String
        package var occurredAt: String

        enum CodingKeys: String, CodingKey { case findingKey = "finding_key", rule, occurredAt = "occurred_at" }

        init(_ finding: FindingRow) {
            self.init(findingKey: finding.findingKey, rule: finding.rule, occurredAt: finding.occurredAt)
        }

        package init(findingKey: String, rule: String, occurredAt: String) {
            self.findingKey = findingKey
            self.rule = rule
            self.occurredAt = occurredAt
        }
    }
}

extension ReportDocument {
    /// The report's signed bytes: RFC 8785 canonical JSON.
    ///
    /// Everything but the findings goes through `Codable` and the canonicaliser;
    /// the findings (tens of thousands in a month) are written straight to
    /// canonical bytes by `FindingRow.writeCanonical`, which is the same form
    /// (`ReportEncodingTests`).
    package func canonicalBytes() throws -> [UInt8] {
        var head = self
        head.findings = []
        guard case .object(let members) = try JSONValue(encoding: head) else {
            throw ReportDocumentError.notAnObject
        }
        var findingBytes: [UInt8] = [UInt8(ascii: "[")]
        findingBytes.reserveCapacity(findings.count * 512 + 2)
        for (index, finding) in findings.enumerated() {
            if index > 0 { findingBytes.append(UInt8(ascii: ",")) }
            finding.writeCanonical(into: &findingBytes)
        }
        findingBytes.append(UInt8(ascii: "]"))
        var canonical: [(key: String, value: CanonicalObject.Member)] = members.filter { $0.key != CodingKeys.findings.rawValue }.map {
            (key: $0.key, value: CanonicalObject.Member.value($0.value))
        }
        canonical.append((key: CodingKeys.findings.rawValue, value: .encoded(findingBytes)))
        return CanonicalObject.bytes(canonical)
    }

    /// A report's JSON as signed or served (any version ever issued).
    package init(decoding body: [UInt8]) throws {
        self = try JSONDecoder().decode(ReportDocument.self, from: Data(body))
    }
}

package enum ReportDocumentError: Error, CustomStringConvertible {
    case notAnObject

    package var description: String {
        switch self {
        case .notAnObject: "a report document did not encode as a JSON object"
        }
    }
}
