/// Events CallAudit writes into the store itself, in the same CloudEvents
/// form as the platform's, under its own `source`: who read which report,
/// and (with the DPO's surface) the subject requests opened through it. They
/// are sealed and reported like everything else. Kafka producers cannot
/// publish them: the decoder rejects their types.
package enum OwnEventType: String, CaseIterable, Sendable {
    case reportRead = "audit.report_read"
    case requestOpened = "subject.request_opened"
    case requestExtended = "subject.request_extended"
    case requestClosed = "subject.request_closed"
    case requestExported = "subject.request_exported"
    case subjectErased = "subject.erased"
    /// A message reused a stored event's `(source, id)` with other content (integrity evidence).
    case eventConflict = "integrity.event_conflict"
    /// An operator accepted that a Kafka partition lost messages before CallAudit read them
    /// (retention ran out, or the topic was recreated): the gap, as evidence in every report it touches.
    case gapAccepted = "ingest.gap_accepted"

    /// The `source` of every event CallAudit writes.
    package static let source = "urn:callaudit"

    /// Whether `source` is CallAudit's own (or under it): no producer may publish as it,
    /// or it could take the ids CallAudit gives its own records.
    /// By bytes: `hasPrefix` compares characters, and a combining mark after the ":" hid the prefix.
    package static func isOwn(source: String) -> Bool {
        source.utf8.elementsEqual(Self.source.utf8) || source.utf8.starts(with: (Self.source + ":").utf8)
    }

    /// The stream it belongs to, by the id field of its data.
    package var streamCategory: (category: String, idField: String) {
        switch self {
        case .reportRead: ("report", "report_id")
        // The same stream as a subject.erasure_requested from Kafka: one request stream.
        case .requestOpened, .requestExtended, .requestClosed, .requestExported, .subjectErased: ("subject-request", "request_id")
        case .eventConflict: ("event-conflict", "conflict_id")
        case .gapAccepted: ("ingest-gap", "gap_id")
        }
    }

    /// Who did it: a token's name and role, or an operator at the command line.
    private static let by = Shape.object(ObjectShape([.required("name", .nonEmptyString), .required("role", .nonEmptyString)]))

    package var data: ObjectShape {
        switch self {
        case .reportRead:
            ObjectShape([
                .required("report_id", .nonEmptyString),
                .required("version", .integer(minimum: 1)),
                .required("format", .oneOf(["json", "csv", "html", "signature", "proofs", "bundle"])),
                .required("reader", Self.by),
                .required("channel", .oneOf(["api", "cli"])),
            ])
        case .requestOpened:
            ObjectShape([
                .required("request_id", .nonEmptyString),
                .required("kind", .oneOf(["access", "erasure"])),
                .required("regime", .oneOf(["gdpr", "ccpa"])),
                .required("subject", .object(EventContract.subject)),
                // Every person the identifiers named when it was opened (pseudonyms), when more than the subject's own.
                .optional("subject_refs", .list(of: .nonEmptyString, minItems: 0)),
                .required("verified_by", .text),
                .required("opened_by", Self.by),
                .required("channel", .oneOf(["api", "cli"])),
            ])
        case .requestExtended:
            ObjectShape([.required("request_id", .nonEmptyString), .required("reason", .text), .required("by", Self.by)])
        case .requestClosed:
            ObjectShape([
                .required("request_id", .nonEmptyString), .required("outcome", .oneOf(["answered", "rejected", "withdrawn"])),
                .required("by", Self.by),
            ])
        case .requestExported:
            // What was handed over: each file's SHA-256, so the DPO can prove which export the person received.
            ObjectShape([
                .required("request_id", .nonEmptyString),
                .required("manifest_sha256", .pattern(.sha256Hex)),
                .required("files", .integer(minimum: 1)),
                .required("by", Self.by),
                .required("channel", .oneOf(["api", "cli"])),
            ])
        case .subjectErased:
            ObjectShape([
                .required("request_id", .nonEmptyString),
                .required("subjects", .list(of: .nonEmptyString, minItems: 0)),
                .required("erased", .object(ObjectShape([
                    .required("keys", .integer(minimum: 0)), .required("index_entries", .integer(minimum: 0)),
                    .required("dead_letters", .integer(minimum: 0)), .required("exports", .integer(minimum: 0)),
                ]))),
                .required("held_back", .list(of: .object(ObjectShape([
                    .required("recording_id", .nonEmptyString), .required("hold_ids", .list(of: .nonEmptyString, minItems: 1)),
                    .required("reason", .text),
                ])), minItems: 0)),
                .required("by", Self.by),
            ])
        case .eventConflict:
            ObjectShape([
                .required("conflict_id", .nonEmptyString),
                .required("source", .nonEmptyString),
                .required("event_id", .nonEmptyString),
                .required("original_position", .integer(minimum: 1)),
                .required("original_sha256", .pattern(.sha256Hex)),
                .required("conflicting_sha256", .pattern(.sha256Hex)),
                .optional("kafka", .object(ObjectShape([
                    .required("topic", .nonEmptyString), .required("partition", .integer(minimum: 0)), .required("offset", .integer(minimum: 0)),
                ]))),
            ])
        case .gapAccepted:
            ObjectShape([
                .required("gap_id", .nonEmptyString),
                .required("consumer_group", .nonEmptyString),
                .required("topic", .nonEmptyString),
                .required("partition", .integer(minimum: 0)),
                // below_low_watermark: retention removed messages not yet read; beyond_high_watermark: the
                // stored position is past the partition's end (the topic was recreated or truncated).
                .required("kind", .oneOf(["below_low_watermark", "beyond_high_watermark"])),
                .required("stored_offset", .integer(minimum: 0)),
                .required("low_watermark", .integer(minimum: 0)),
                .required("high_watermark", .integer(minimum: 0)),
                .required("resume_offset", .integer(minimum: 0)),
                // The offsets lost, from (inclusive) to (exclusive), and how many.
                .required("lost", .object(ObjectShape([
                    .required("from_offset", .integer(minimum: 0)), .required("to_offset", .integer(minimum: 0)),
                    .required("messages", .integer(minimum: 1)),
                ]))),
                // When ingest last stored a position in that partition: the gap began after it.
                .optional("last_ingested_at", .nonEmptyString),
                // When ingest stopped the partition (its stored hold), when it had: the watermarks above are
                // then those Kafka had at that moment, and `watermarks_at_acceptance` those it had when accepted
                // (a recreated topic may since have grown past the old position, hiding the gap).
                .optional("held_since", .nonEmptyString),
                .optional("watermarks_at_acceptance", .object(ObjectShape([
                    .required("low", .integer(minimum: 0)), .required("high", .integer(minimum: 0)),
                ]))),
                .required("reason", .text),
                .required("by", Self.by),
                .required("channel", .oneOf(["cli"])),
            ])
        }
    }

    /// The event, validated against its shape like any other: stored form, canonical bytes and hash.
    package func event(data: JSONValue, at time: Timestamp, id: String = OwnEventType.newID()) throws(Rejection) -> DecodedEvent {
        do {
            try self.data.validate(data, at: "data")
        } catch {
            throw Rejection(.schemaViolation, error.description)
        }
        let document: JSONValue = [
            "specversion": "1.0", "id": .string(id), "source": .string(Self.source), "type": .string(rawValue),
            "time": .string(time.rfc3339), "datacontenttype": "application/json", "data": data,
        ]
        // Its columns come from the document by the derivation ingest uses, which verify-store repeats.
        return DecodedEvent(columns: try EventColumns(of: document, types: .contractAndOwn), document: document)
    }

    /// 128 random bits in hex: unique without coordination between instances.
    package static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
    }
}
