/// Stable rule ids (PRODUCT.md §3): auditors file against them.
public enum RuleID: String, Sendable, CaseIterable {
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
}

/// A rule broken, with the events that prove it and the line it rests on. Carries ids, never personal data.
public struct Finding: Sendable, Equatable, Hashable {
    public enum Severity: String, Sendable { case high, medium, low }

    public var rule: RuleID
    public var severity: Severity
    /// When the rule was broken (recording start, access time, deadline…).
    public var occurredAt: Timestamp
    public var callID: String?
    public var recordingID: String?
    public var partyID: String?
    public var requestID: String?
    public var jurisdiction: String?
    public var citation: String
    /// Ids of the events that prove it.
    public var evidence: [String]
    public var detail: String
    public var policyVersion: String
    public var policyHash: String
}
