import Crypto

/// A valid event in its stored form.
public struct DecodedEvent: Sendable {
    public var source: String
    public var id: String
    public var type: EventType
    public var time: Timestamp
    public var stream: String
    /// The whole CloudEvent in structured form, attributes and data.
    public var document: JSONValue
    /// `document` in RFC 8785 canonical form: exactly the bytes the store keeps.
    public var canonical: [UInt8]
    /// SHA-256 of `canonical`.
    public var contentHash: [UInt8]

    public init(source: String, id: String, type: EventType, time: Timestamp, stream: String, document: JSONValue) {
        self.source = source
        self.id = id
        self.type = type
        self.time = time
        self.stream = stream
        self.document = document
        self.canonical = document.canonicalBytes
        self.contentHash = Array(SHA256.hash(data: canonical))
    }
}
