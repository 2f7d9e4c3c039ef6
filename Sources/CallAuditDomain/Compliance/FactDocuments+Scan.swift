/// The call and recording documents read straight from the bytes their
/// writers write (`FactDocuments+Bytes`), member by member, without the tree.
/// A rebuild of a log that took more than one chunk reads every call and
/// recording back to judge it, and parsing them into a tree cost more than
/// judging them.
///
/// The tables are derived data a superuser can edit, so the scanner decides
/// only documents of exactly the writers' shape: the writers' members in the
/// writers' order (optional ones present or left out), strings without escapes
/// or control bytes, valid times, no whitespace, nothing after the document.
/// Anything else is nil, and `init(stored:)` reads the tree, which decides or
/// throws as before. `FactDocumentDifferential` holds the two to each other.
extension CallFacts {
    package static func scanned(_ text: String) -> CallFacts? {
        FactDocumentScanner.read(text) { (scanner) throws(Unsure) in
            var call = CallFacts(callID: try scanner.string("call_id"))
            call.startedEventID = try scanner.optionalString("started_event_id")
            call.parties = try scanner.array("parties") { (scanner) throws(Unsure) in
                Party(
                    id: try scanner.string("id"), role: try scanner.string("role"),
                    jurisdiction: try scanner.optionalString("jurisdiction"), device: try scanner.optionalString("device"))
            }
            call.notices = try scanner.array("notices", of: Fact.scanned)
            call.consents = try scanner.array("consents", of: Fact.scanned)
            call.refusals = try scanner.array("refusals", of: Fact.scanned)
            call.recordingTimeline = try scanner.array("recording_timeline", of: Fact.scanned)
            return call
        }
    }
}

extension CallFacts.Fact {
    fileprivate static func scanned(_ scanner: inout FactDocumentScanner) throws(Unsure) -> Self {
        Self(
            eventID: try scanner.string("event_id"), time: try scanner.time("time"), partyID: try scanner.optionalString("party_id"),
            method: try scanner.optionalString("method"), recordingID: try scanner.optionalString("recording_id"),
            scope: try scanner.optionalStrings("scope"), kind: try scanner.optionalString("kind"))
    }
}

extension RecordingFacts {
    package static func scanned(_ text: String) -> RecordingFacts? {
        FactDocumentScanner.read(text) { (scanner) throws(Unsure) in
            var recording = RecordingFacts(recordingID: try scanner.string("recording_id"))
            recording.callID = try scanner.optionalString("call_id")
            if scanner.member("stored") { recording.stored = try scanner.object(Mark.scanned) }
            recording.deletions = try scanner.array("deletions", of: Mark.scanned)
            recording.uses = try scanner.array("uses") { (scanner) throws(Unsure) in
                Use(
                    eventID: try scanner.string("event_id"), time: try scanner.time("time"), role: try scanner.string("role"),
                    kind: try scanner.string("kind"), purpose: try scanner.optionalString("purpose"), anonymized: try scanner.bool("anonymized"),
                    country: try scanner.optionalString("country"), legalBasis: try scanner.optionalString("legal_basis"))
            }
            recording.holds = try scanner.array("holds") { (scanner) throws(Unsure) in
                Hold(
                    holdID: try scanner.string("hold_id"), placedAt: try scanner.time("placed_at"),
                    placedEventID: try scanner.string("placed_event_id"), releasedAt: try scanner.optionalTime("released_at"),
                    releasedEventID: try scanner.optionalString("released_event_id"))
            }
            return recording
        }
    }
}

extension RecordingFacts.Mark {
    fileprivate static func scanned(_ scanner: inout FactDocumentScanner) throws(Unsure) -> Self {
        Self(eventID: try scanner.string("event_id"), time: try scanner.time("time"))
    }
}

/// Reads one fact document in its writer's shape. Each read names the member
/// it expects next: a required one must be there, an optional one is read
/// only if it is the next member.
struct FactDocumentScanner: StoredBytesScanning {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Whether the object being read has no member yet (so the next takes no comma).
    private var atFirstMember = true

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The document `body` reads from the object that is the whole of `text`;
    /// nil when `body` is unsure or bytes follow the object.
    static func read<T>(_ text: String, _ body: (inout FactDocumentScanner) throws(Unsure) -> T) -> T? {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = FactDocumentScanner(bytes: bytes)
            guard let value = try? scanner.object(body), scanner.index == bytes.count else { return nil }
            return value
        }
    }

    /// Whether the next member is named `name`; if so, the scanner moves to its value.
    mutating func member(_ name: StaticString) -> Bool {
        var at = index
        if !atFirstMember {
            guard at < bytes.count, bytes[at] == UInt8(ascii: ",") else { return false }
            at += 1
        }
        let count = name.utf8CodeUnitCount
        guard at + count + 3 <= bytes.count, bytes[at] == UInt8(ascii: "\""), bytes[at + count + 1] == UInt8(ascii: "\""),
            bytes[at + count + 2] == UInt8(ascii: ":"), UnsafeBufferPointer(rebasing: bytes[at + 1..<at + count + 1]).is(name)
        else { return false }
        index = at + count + 3
        atFirstMember = false
        return true
    }

    /// An object value, its members read by `body`; the scanner then stands after it, within its parent.
    mutating func object<T>(_ body: (inout FactDocumentScanner) throws(Unsure) -> T) throws(Unsure) -> T {
        try expect(UInt8(ascii: "{"))
        atFirstMember = true
        let value = try body(&self)
        try expect(UInt8(ascii: "}"))
        atFirstMember = false
        return value
    }

    /// The required member `name`: an array of objects, each read by `element`.
    mutating func array<T>(_ name: StaticString, of element: (inout FactDocumentScanner) throws(Unsure) -> T) throws(Unsure) -> [T] {
        try required(name)
        return try elements { (scanner) throws(Unsure) in try scanner.object(element) }
    }

    mutating func string(_ name: StaticString) throws(Unsure) -> String {
        try required(name)
        return try stringValue()
    }

    mutating func optionalString(_ name: StaticString) throws(Unsure) -> String? {
        member(name) ? try stringValue() : nil
    }

    /// An optional array of strings.
    mutating func optionalStrings(_ name: StaticString) throws(Unsure) -> [String]? {
        member(name) ? try elements { (scanner) throws(Unsure) in try scanner.stringValue() } : nil
    }

    mutating func time(_ name: StaticString) throws(Unsure) -> Timestamp {
        try required(name)
        return try timeValue()
    }

    mutating func optionalTime(_ name: StaticString) throws(Unsure) -> Timestamp? {
        member(name) ? try timeValue() : nil
    }

    mutating func bool(_ name: StaticString) throws(Unsure) -> Bool {
        try required(name)
        if try peek() == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    private mutating func required(_ name: StaticString) throws(Unsure) {
        guard member(name) else { throw Unsure() }
    }

    /// A plain string's bytes are its UTF-8 (`plainString`), as the tree makes it.
    private mutating func stringValue() throws(Unsure) -> String {
        String(decoding: try plainString(asciiOnly: false), as: UTF8.self)
    }

    private mutating func timeValue() throws(Unsure) -> Timestamp {
        guard let time = Timestamp(rfc3339: try plainString(asciiOnly: false)) else { throw Unsure() }
        return time
    }

    private mutating func elements<T>(_ element: (inout FactDocumentScanner) throws(Unsure) -> T) throws(Unsure) -> [T] {
        try expect(UInt8(ascii: "["))
        var elements: [T] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            repeat { elements.append(try element(&self)) } while !(try next(closing: UInt8(ascii: "]")))
        }
        atFirstMember = false
        return elements
    }
}
