/// Stable rule ids (docs/product.md §3): auditors file against them.
package enum RuleID: String, Sendable, CaseIterable {
    case consentMissing = "CONSENT_MISSING"
    case recordedAfterRefusal = "RECORDED_AFTER_REFUSAL"
    case accessUnauthorizedRole = "ACCESS_UNAUTHORIZED_ROLE"
    case accessInvalidPurpose = "ACCESS_INVALID_PURPOSE"
    case trainingNotAnonymized = "TRAINING_NOT_ANONYMIZED"
    case accessAfterDeletion = "ACCESS_AFTER_DELETION"
    case transferWithoutBasis = "TRANSFER_WITHOUT_BASIS"
    case retentionExceeded = "RETENTION_EXCEEDED"
    case deletedUnderHold = "DELETED_UNDER_HOLD"
    case erasureOverdue = "ERASURE_OVERDUE"
    case subjectRequestOverdue = "SUBJECT_REQUEST_OVERDUE"
    case eventConflict = "EVENT_CONFLICT"
}

/// A rule broken, with the events that prove it and the line it rests on. Carries ids, never personal data.
package struct Finding: Sendable, Equatable, Hashable {
    package enum Severity: String, Sendable { case high, medium, low }

    package var rule: RuleID
    package var severity: Severity
    /// When the rule was broken (recording start, access time, deadline…).
    package var occurredAt: Timestamp
    package var callID: String?
    package var recordingID: String?
    package var partyID: String?
    package var requestID: String?
    package var jurisdiction: String?
    package var citation: String
    /// Ids of the events that prove it.
    package var evidence: [String]
    package var detail: String
    package var policyVersion: String
    package var policyHash: String
}
