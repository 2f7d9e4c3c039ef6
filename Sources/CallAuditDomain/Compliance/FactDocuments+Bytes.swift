/// The fact documents written straight as bytes, member by member, exactly as
/// `document.compactBytes` writes them, without building the tree first: a
/// rebuild writes a document for every call and recording of the log.
/// `FactDocumentTests` holds each to `document.compactBytes`.
extension CallFacts {
    package func writeDocument(into out: inout [UInt8]) {
        var object = DocumentObject(opening: &out)
        object.string("call_id", callID, &out)
        object.string("started_event_id", startedEventID, &out)
        object.array("parties", parties, &out) { party, out in
            var object = DocumentObject(opening: &out)
            object.string("id", party.id, &out)
            object.string("role", party.role, &out)
            object.string("jurisdiction", party.jurisdiction, &out)
            object.string("device", party.device, &out)
            object.close(&out)
        }
        object.array("notices", notices, &out) { $0.writeDocument(into: &$1) }
        object.array("consents", consents, &out) { $0.writeDocument(into: &$1) }
        object.array("refusals", refusals, &out) { $0.writeDocument(into: &$1) }
        object.array("recording_timeline", recordingTimeline, &out) { $0.writeDocument(into: &$1) }
        object.close(&out)
    }
}

extension CallFacts.Fact {
    package func writeDocument(into out: inout [UInt8]) {
        var object = DocumentObject(opening: &out)
        object.string("event_id", eventID, &out)
        object.time("time", time, &out)
        object.string("party_id", partyID, &out)
        object.string("method", method, &out)
        object.string("recording_id", recordingID, &out)
        if let scope { object.array("scope", scope, &out) { DocumentObject.quoted($0, &$1) } }
        object.string("kind", kind, &out)
        object.close(&out)
    }
}

extension RecordingFacts {
    package func writeDocument(into out: inout [UInt8]) {
        var object = DocumentObject(opening: &out)
        object.string("recording_id", recordingID, &out)
        object.string("call_id", callID, &out)
        if let stored {
            object.name("stored", &out)
            stored.writeDocument(into: &out)
        }
        object.array("deletions", deletions, &out) { $0.writeDocument(into: &$1) }
        object.array("uses", uses, &out) { use, out in
            var object = DocumentObject(opening: &out)
            object.string("event_id", use.eventID, &out)
            object.time("time", use.time, &out)
            object.string("role", use.role, &out)
            object.string("kind", use.kind, &out)
            object.string("purpose", use.purpose, &out)
            object.name("anonymized", &out)
            out.append(contentsOf: (use.anonymized ? "true" : "false").utf8)
            object.string("country", use.country, &out)
            object.string("legal_basis", use.legalBasis, &out)
            object.close(&out)
        }
        object.array("holds", holds, &out) { hold, out in
            var object = DocumentObject(opening: &out)
            object.string("hold_id", hold.holdID, &out)
            object.time("placed_at", hold.placedAt, &out)
            object.string("placed_event_id", hold.placedEventID, &out)
            if let released = hold.releasedAt { object.time("released_at", released, &out) }
            object.string("released_event_id", hold.releasedEventID, &out)
            object.close(&out)
        }
        object.close(&out)
    }
}

extension RecordingFacts.Mark {
    package func writeDocument(into out: inout [UInt8]) {
        var object = DocumentObject(opening: &out)
        object.string("event_id", eventID, &out)
        object.time("time", time, &out)
        object.close(&out)
    }
}

/// An object being written into a buffer: a comma before every member but
/// the first, and absent optionals left out, as the tree's documents leave them.
private struct DocumentObject {
    private var first = true

    init(opening out: inout [UInt8]) { out.append(UInt8(ascii: "{")) }

    /// A member's name and colon; its value follows.
    mutating func name(_ name: StaticString, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: StaticString, _ value: String?, _ out: inout [UInt8]) {
        guard let value else { return }
        self.name(name, &out)
        Self.quoted(value, &out)
    }

    /// A string as `JSONValue.writeCanonicalString` writes it. Ids, the most
    /// of what documents hold, need no escape: checked eight bytes at a time
    /// (`ByteWords`, inlined within this module) and copied whole.
    static func quoted(_ value: String, _ out: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            if let base = utf8.baseAddress, needsNoEscape(base, count: utf8.count) {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: utf8)
                out.append(UInt8(ascii: "\""))
            } else {
                JSONValue.writeCanonicalString(utf8: utf8, into: &out)
            }
        }
    }

    /// No quote, backslash or control byte: RFC 8785 escapes nothing else.
    private static func needsNoEscape(_ base: UnsafePointer<UInt8>, count: Int) -> Bool {
        var seen: UInt64 = 0
        var at = ByteWords.skipStringRun(base, from: 0, count: count, seen: &seen)
        while at < count {
            let byte = base[at]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            at += 1
        }
        return true
    }

    mutating func time(_ name: StaticString, _ value: Timestamp, _ out: inout [UInt8]) {
        self.name(name, &out)
        out.append(UInt8(ascii: "\""))
        value.writeRFC3339(into: &out)
        out.append(UInt8(ascii: "\""))
    }

    mutating func array<Element>(_ name: StaticString, _ elements: [Element], _ out: inout [UInt8], _ write: (Element, inout [UInt8]) -> Void) {
        self.name(name, &out)
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            write(element, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    func close(_ out: inout [UInt8]) { out.append(UInt8(ascii: "}")) }
}
