import Crypto

/// A valid event in its stored form.
package struct DecodedEvent: Sendable {
    package var source: String
    package var id: String
    /// The CloudEvents `type`: a contract type, or one of CallAudit's own (`OwnEventType`).
    package var typeName: String
    package var time: Timestamp
    package var stream: String
    /// The whole CloudEvent in structured form, attributes and data. Read
    /// back from `canonical` when the one-pass decoder made the event without
    /// a tree (it reads the same: RFC 8785's form is a fixed point).
    package var document: JSONValue {
        // swiftlint:disable:next force_try
        tree ?? (try! JSONParser.parse(canonical))
    }
    private var tree: JSONValue?
    /// Where each subject object lies in `canonical`, in document order, when
    /// the one-pass decoder wrote the event: the vault seals them there,
    /// without a tree. Nil for an event made from a tree (the vault walks it).
    package private(set) var subjectRanges: [Range<Int>]?
    /// True when the decoder found no subject object in the event, so the
    /// vault has nothing to seal and need not read the document at all.
    package var holdsNoSubjects: Bool { subjectRanges?.isEmpty == true }
    /// `document` in RFC 8785 canonical form: exactly the bytes the store keeps.
    package private(set) var canonical: [UInt8]
    /// SHA-256 of `canonical`: the one taken when the event was made, or
    /// taken now when its maker left it out (see `init(columns:canonical:subjectRanges:hashed:)`).
    package var contentHash: [UInt8] { (storedHash ?? ContentHash.of(canonical)).bytes }
    private var storedHash: ContentHash?

    /// `contentHash`'s bytes in place: the COPY writer reads every event's
    /// without making an array of it.
    package func withContentHash<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try (storedHash ?? ContentHash.of(canonical)).withUnsafeBytes(body)
    }
    /// Whether the hash was taken when the event was made.
    package var isHashed: Bool { storedHash != nil }

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

    /// An event in its canonical bytes, with no tree: one the one-pass
    /// decoder wrote (with its subject objects' ranges), or one whose subjects
    /// were sealed in its bytes (`subjectRanges` nil: none left to seal).
    ///
    /// `hashed: false` leaves the hash out, for an event the vault will seal:
    /// sealing replaces its bytes and makes the event again, hashed, so a
    /// hash of these bytes would be thrown away (SHA-256 was a fifth of the
    /// polling thread's instructions). Read before that, it is taken then.
    package init(columns: EventColumns, canonical: [UInt8], subjectRanges: [Range<Int>]?, hashed: Bool = true) {
        source = columns.source
        id = columns.id
        typeName = columns.typeName
        time = columns.time
        stream = columns.stream
        self.canonical = canonical
        storedHash = hashed ? ContentHash.of(canonical) : nil
        self.subjectRanges = subjectRanges
    }

    /// What the event holds that sealing replaces.
    var cleartext: Cleartext { Cleartext(canonical: canonical, subjectRanges: subjectRanges, tree: tree) }

    /// Gives the event these canonical bytes (hashed; no subject ranges: what
    /// is there now is sealed), returning what it held: the caller frees the
    /// old bytes where they were allocated (`DecodedEvent.Cleartext`).
    mutating func takeCleartext(replacingWith sealed: [UInt8]) -> Cleartext {
        let cleartext = self.cleartext
        canonical = sealed
        storedHash = ContentHash.of(sealed)
        subjectRanges = nil
        tree = nil
        return cleartext
    }

    package init(source: String, id: String, typeName: String, time: Timestamp, stream: String, document: JSONValue) {
        self.source = source
        self.id = id
        self.typeName = typeName
        self.time = time
        self.stream = stream
        self.tree = document
        self.canonical = document.canonicalBytes
        self.storedHash = ContentHash.of(canonical)
    }
}
