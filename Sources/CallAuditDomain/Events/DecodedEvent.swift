import Crypto

/// A valid event in its stored form.
package struct DecodedEvent: Sendable {
    package var source: String
    package var id: String
    /// The CloudEvents `type`: a contract type, or one of CallAudit's own (`OwnEventType`).
    package var typeName: String
    package var time: Timestamp
    package var stream: String
    /// The whole CloudEvent in structured form, attributes and data.
    package var document: JSONValue
    /// `document` in RFC 8785 canonical form: exactly the bytes the store keeps.
    package var canonical: [UInt8]
    /// SHA-256 of `canonical`.
    package var contentHash: [UInt8]

    /// The contract type, nil for one of CallAudit's own events.
    package var type: EventType? { EventType(rawValue: typeName) }

    /// The columns the store keeps beside the bytes.
    package var columns: EventColumns {
        EventColumns(stream: stream, typeName: typeName, source: source, id: id, time: time)
    }

    package init(columns: EventColumns, document: JSONValue) {
        self.init(source: columns.source, id: columns.id, typeName: columns.typeName, time: columns.time, stream: columns.stream, document: document)
    }

    package init(source: String, id: String, type: EventType, time: Timestamp, stream: String, document: JSONValue) {
        self.init(source: source, id: id, typeName: type.rawValue, time: time, stream: stream, document: document)
    }

    /// An event the one-pass decoder wrote: `canonical` is already the
    /// document's canonical form, so the document is its parse (a fixed point of RFC 8785).
    package init(columns: EventColumns, canonical: [UInt8]) {
        source = columns.source
        id = columns.id
        typeName = columns.typeName
        time = columns.time
        stream = columns.stream
        self.canonical = canonical
        contentHash = Array(SHA256.hash(data: canonical))
        // swiftlint:disable:next force_try
        document = try! JSONParser.parse(canonical)
    }

    package init(source: String, id: String, typeName: String, time: Timestamp, stream: String, document: JSONValue) {
        self.source = source
        self.id = id
        self.typeName = typeName
        self.time = time
        self.stream = stream
        self.document = document
        self.canonical = document.canonicalBytes
        self.contentHash = Array(SHA256.hash(data: canonical))
    }
}
