/// The `data` of every event type, as docs/product.md §1 states it.
///
/// Values the rules judge rather than validate (jurisdiction missing, purpose
/// missing or unknown, legal basis missing, any actor role) are optional or
/// free text here, so such events are stored and become findings.
package enum EventContract {
    package static let purposes = [
        "complaint_investigation", "quality_sample", "health_safety_crime", "legal_compliance", "training_coaching",
        "other",
    ]

    /// How the requests the DPO opens in CallAudit are named; platform requests may not use it.
    package static let ownRequestPrefix = "dsr-"

    /// Members of a subject that only the vault writes (its stored, sealed form).
    package static let vaultMembers = ["subject_ref", "sealed"]

    /// The person's identifiers: personal data, at least one present.
    package static let subject = ObjectShape(
        [
            .optional("phone", .pattern(.e164), pii: true),
            .optional("email", .pattern(.email), pii: true),
            .optional("customer_id", .nonEmptyString, pii: true),
            .optional("employee_id", .nonEmptyString, pii: true),
            .optional("name", .text, pii: true),
        ],
        atLeastOneOf: ["phone", "email", "customer_id", "employee_id", "name"],
        reserved: vaultMembers
    )

    package static let party = ObjectShape([
        .required("party_id", .nonEmptyString),
        .required("role", .oneOf(["agent", "customer", "third_party"])),
        .optional("jurisdiction", .pattern(.jurisdiction)),
        .optional("device", .oneOf(["landline", "cellular", "cordless", "voip", "unknown"])),
        .required("subject", .object(subject)),
    ])

    package static let actor = ObjectShape([
        .required("id", .nonEmptyString),
        .required("role", .string),
    ])

    package static let recipient = ObjectShape([
        .required("organization", .text),
        .required("country", .pattern(.country)),
    ])

    private static let callID = Field.required("call_id", .nonEmptyString)
    private static let recordingID = Field.required("recording_id", .nonEmptyString)

    package static func data(of type: EventType) -> ObjectShape {
        switch type {
        case .callStarted:
            ObjectShape([
                callID,
                .required("direction", .oneOf(["inbound", "outbound", "internal"])),
                .required("channel", .oneOf(["phone", "video", "chat"])),
                .required("parties", .list(of: .object(party), minItems: 1)),
            ])
        case .callEnded:
            ObjectShape([callID])
        case .recordingStarted, .recordingStopped:
            ObjectShape([callID, recordingID])
        case .recordingPaused, .recordingResumed:
            ObjectShape([callID, recordingID, .required("reason", .oneOf(["pci", "customer_request", "other"]))])
        case .recordingStored:
            ObjectShape([
                callID, recordingID,
                .required("storage_uri", .text),
                .required("sha256", .pattern(.sha256Hex)),
                .required("duration_seconds", .number(minimum: 0)),
                .required("bytes", .integer(minimum: 0)),
            ])
        case .noticePlayed:
            ObjectShape([
                callID,
                .optional("party_id", .nullable(.nonEmptyString)),
                .required("method", .oneOf(["announcement", "beep_tone", "agent_verbal", "written", "on_screen"])),
            ])
        case .consentGiven:
            ObjectShape([
                callID,
                .required("party_id", .nonEmptyString),
                .required("method", .oneOf(["verbal", "written", "dtmf", "checkbox", "implied_by_continuing"])),
                .required("scope", .list(of: .oneOf(["recording", "training", "transcription"]), minItems: 1)),
            ])
        case .consentRefused, .consentWithdrawn:
            ObjectShape([callID, .required("party_id", .nonEmptyString)])
        case .recordingAccessed:
            ObjectShape([
                recordingID,
                .required("actor", .object(actor)),
                .required("action", .oneOf(["play", "download", "export", "transcript_view"])),
                .optional("purpose", .string),
                .optional("purpose_ref", .text),
                .optional("anonymized", .boolean),
            ])
        case .recordingShared:
            ObjectShape([
                recordingID,
                .required("actor", .object(actor)),
                .required("recipient", .object(recipient)),
                .optional("legal_basis", .oneOf(["adequacy", "scc", "bcr", "consent", "legal_obligation", "none"])),
                .optional("purpose", .string),
            ])
        case .recordingDeleted:
            ObjectShape([
                recordingID,
                .required("reason", .oneOf(["retention_expired", "erasure_request", "issue_resolved", "manual"])),
                .required("method", .oneOf(["clear", "purge", "destroy"])),
                .required("actor", .object(actor)),
            ])
        case .legalHoldPlaced:
            ObjectShape([
                .required("hold_id", .nonEmptyString),
                .required("recording_ids", .list(of: .nonEmptyString, minItems: 1)),
                .required("case_ref", .text),
                .required("actor", .object(actor)),
            ])
        case .legalHoldReleased:
            ObjectShape([.required("hold_id", .nonEmptyString), .required("actor", .object(actor))])
        case .subjectErasureRequested:
            ObjectShape(
                [
                    .required("request_id", .identifier(notPrefixed: ownRequestPrefix)),
                    .required("subject", .object(subject)),
                    .optional("regime", .oneOf(["gdpr", "ccpa"])),
                ],
                // The persons a request names are the vault's finding, never the producer's say;
                // and requests the DPO opens (`dsr-…`) are not theirs to name.
                reserved: ["subject_refs"])
        }
    }
}
