/// The four topics of docs/product.md §1 (their Kafka names are configurable).
package enum Topic: String, CaseIterable, Sendable {
    case calls, consents, access, deletions
}

/// Every event type of the contract (docs/product.md §1).
package enum EventType: String, CaseIterable, Sendable {
    case callStarted = "call.started"
    case callEnded = "call.ended"
    case recordingStarted = "recording.started"
    case recordingPaused = "recording.paused"
    case recordingResumed = "recording.resumed"
    case recordingStopped = "recording.stopped"
    case recordingStored = "recording.stored"
    case noticePlayed = "notice.played"
    case consentGiven = "consent.given"
    case consentRefused = "consent.refused"
    case consentWithdrawn = "consent.withdrawn"
    case recordingAccessed = "recording.accessed"
    case recordingShared = "recording.shared"
    case recordingDeleted = "recording.deleted"
    case legalHoldPlaced = "legal_hold.placed"
    case legalHoldReleased = "legal_hold.released"
    case subjectErasureRequested = "subject.erasure_requested"

    package var topic: Topic {
        switch self {
        case .callStarted, .callEnded, .recordingStarted, .recordingPaused, .recordingResumed, .recordingStopped,
            .recordingStored:
            .calls
        case .noticePlayed, .consentGiven, .consentRefused, .consentWithdrawn: .consents
        case .recordingAccessed, .recordingShared: .access
        case .recordingDeleted, .legalHoldPlaced, .legalHoldReleased, .subjectErasureRequested: .deletions
        }
    }

    /// The stream an event belongs to: the unit of ordering for projections and of quarantine.
    package var streamCategory: (category: String, idField: String) {
        switch topic {
        case .calls, .consents: ("call", "call_id")
        case .access: ("recording", "recording_id")
        case .deletions:
            switch self {
            case .legalHoldPlaced, .legalHoldReleased: ("legal-hold", "hold_id")
            case .subjectErasureRequested: ("subject-request", "request_id")
            default: ("recording", "recording_id")
            }
        }
    }
}
