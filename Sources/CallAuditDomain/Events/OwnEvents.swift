/// Events CallAudit writes into the store itself, in the same CloudEvents
/// form as the platform's, under its own `source`: who read which report,
/// and (with the DPO's surface) the subject requests opened through it. They
/// are sealed and reported like everything else. Kafka producers cannot
/// publish them: the decoder rejects their types.
package enum OwnEventType: String, CaseIterable, Sendable {
    case reportRead = "audit.report_read"

    /// The `source` of every event CallAudit writes.
    package static let source = "urn:callaudit"

    /// The stream it belongs to, by the id field of its data.
    package var streamCategory: (category: String, idField: String) {
        switch self {
        case .reportRead: ("report", "report_id")
        }
    }

    package var data: ObjectShape {
        switch self {
        case .reportRead:
            ObjectShape([
                .required("report_id", .nonEmptyString),
                .required("version", .integer(minimum: 1)),
                .required("format", .oneOf(["json", "csv", "html", "signature"])),
                .required("reader", .object(ObjectShape([.required("name", .nonEmptyString), .required("role", .nonEmptyString)]))),
                .required("channel", .oneOf(["api", "cli"])),
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
        let (category, field) = streamCategory
        return DecodedEvent(
            source: Self.source, id: id, typeName: rawValue, time: time, stream: "\(category)-\(data[field]?.stringValue ?? "")",
            document: document)
    }

    /// 128 random bits in hex: unique without coordination between instances.
    package static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
    }
}
