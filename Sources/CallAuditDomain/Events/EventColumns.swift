/// What the store keeps beside an event's canonical bytes, in columns that
/// readers query instead of parsing the bytes: projections and requests read
/// `stream`, `type` and `event_time`, lookups and republish checks read
/// `source` and `event_id`.
///
/// Only the bytes are hashed and sealed, so the columns are trusted only
/// because this one derivation makes them from the bytes: ingest
/// (`EventDecoder.validate`), CallAudit's own events (`OwnEventType.event`)
/// and `verify-store` (on the stored bytes, to find edited columns) all call it.
package struct EventColumns: Sendable, Equatable {
    package var stream: String
    package var typeName: String
    package var source: String
    package var id: String
    package var time: Timestamp

    package init(stream: String, typeName: String, source: String, id: String, time: Timestamp) {
        self.stream = stream
        self.typeName = typeName
        self.source = source
        self.id = id
        self.time = time
    }

    /// Which `type`s are events: Kafka's producers may not publish CallAudit's own.
    package enum Types: Sendable {
        case contract
        case contractAndOwn
    }

    /// Every member the derivation reads: the attributes, `data`, and each
    /// member of `data` a stream is named by, over all types.
    package static let members: [String] = Array(Set(
        ["id", "source", "type", "time", "data"] + EventType.allCases.map(\.streamCategory.idField)
            + OwnEventType.allCases.map(\.streamCategory.idField))).sorted()

    /// The columns ingest stored for these bytes, from their outline (the
    /// members above, at the root and in `data`): what `verify-store` compares
    /// with the row, for millions of events. Nil if the bytes give none.
    package static func derived(fromStored bytes: [UInt8]) -> EventColumns? {
        guard let outline = try? JSONParser.outline(bytes, depth: 1, members: members) else { return nil }
        return try? EventColumns(of: outline, types: .contractAndOwn)
    }

    /// The columns of a structured-form event: its `id`, `source`, `type` and
    /// `time` attributes, and its stream, named by the type's category and the
    /// member of `data` that identifies it. Reads nothing but `members`, so a
    /// document reduced to them by `JSONParser.outline` gives the same columns.
    package init(of document: JSONValue, types: Types) throws(Rejection) {
        let id = try Self.requiredAttribute("id", in: document)
        let source = try Self.requiredAttribute("source", in: document)
        let typeName = try Self.requiredAttribute("type", in: document)
        let category: (category: String, idField: String)
        if let type = EventType(rawValue: typeName) {
            category = type.streamCategory
        } else if let own = OwnEventType(rawValue: typeName) {
            guard types == .contractAndOwn else {
                throw Rejection(.unknownType, "type \(typeName) is written by CallAudit itself; producers cannot publish it")
            }
            category = own.streamCategory
        } else {
            throw Rejection(.unknownType, "type is not one of the \(EventType.allCases.count) contract types")
        }
        guard let timeValue = document["time"] else { throw Rejection(.notCloudEvent, "time is required") }
        guard let timeText = timeValue.stringValue, let time = Timestamp(rfc3339: timeText) else {
            throw Rejection(.badTime, "time is not an RFC 3339 date-time")
        }
        let streamID = document["data"]?[category.idField]?.stringValue ?? ""
        // The stream is a text column, which cannot hold NUL.
        guard !streamID.containsNUL else { throw Rejection(.schemaViolation, "data.\(category.idField): contains a NUL character") }
        self.init(stream: "\(category.category)-\(streamID)", typeName: typeName, source: source, id: id, time: time)
    }

    private static func requiredAttribute(_ name: String, in document: JSONValue) throws(Rejection) -> String {
        guard let value = document[name] else { throw Rejection(.notCloudEvent, "\(name) is required") }
        guard let text = value.stringValue, !text.isEmpty else {
            throw Rejection(.notCloudEvent, "\(name) must be a non-empty string")
        }
        // id and source are identifiers like the contract's own: bounded the same way.
        guard text.utf8.count <= Shape.identifierMaxLength || text.unicodeScalars.count <= Shape.identifierMaxLength else {
            throw Rejection(.notCloudEvent, "\(name) is longer than \(Shape.identifierMaxLength) characters")
        }
        // It becomes a text column, and PostgreSQL's text cannot hold NUL.
        guard !text.containsNUL else { throw Rejection(.notCloudEvent, "\(name) contains a NUL character") }
        return text
    }

    /// The names of the columns that differ from `other`'s, as the `events` table calls them.
    package func differences(from other: EventColumns) -> [String] {
        var names: [String] = []
        if stream != other.stream { names.append("stream") }
        if typeName != other.typeName { names.append("type") }
        if source != other.source { names.append("source") }
        if id != other.id { names.append("event_id") }
        if time != other.time { names.append("event_time") }
        return names
    }
}
