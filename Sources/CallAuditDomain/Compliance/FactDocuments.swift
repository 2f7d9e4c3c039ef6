/// How the compliance facts are kept in their tables: one JSON document per
/// key, written and read by hand, because Foundation's coders cost more than
/// the rest of a rebuild put together. Absent optionals are left out.
package protocol FactDocument {
    var document: JSONValue { get }
    init(document: JSONValue) throws(FactDocumentError)
    /// `document.compactBytes`, appended to `out`. Calls and recordings, a
    /// document each for every call of the log, write theirs without the tree.
    func writeDocument(into out: inout [UInt8])
    /// The facts read straight from the bytes `writeDocument` writes; nil for
    /// any other shape (`FactDocuments+Scan`). Calls and recordings, read back
    /// for every call of a long log, scan theirs.
    static func scanned(_ text: String) -> Self?
}

extension FactDocument {
    package func writeDocument(into out: inout [UInt8]) { out.append(contentsOf: document.compactBytes) }

    package static func scanned(_ text: String) -> Self? { nil }

    /// Facts as a fact table keeps them: scanned when they have the writer's
    /// shape, else read from the tree, which decides or throws.
    package init(stored text: String) throws {
        if let scanned = Self.scanned(text) {
            self = scanned
        } else {
            try self.init(document: try JSONParser.parse(text))
        }
    }

    /// The document's bytes, as `writeDocument` writes them.
    package var documentText: String {
        var bytes: [UInt8] = []
        writeDocument(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A stored fact document that does not have the shape its type writes.
package struct FactDocumentError: Error, Equatable, CustomStringConvertible {
    package var field: String
    package var description: String { "stored compliance facts lack a valid \(field)" }
}

extension CallFacts: FactDocument {
    package var document: JSONValue {
        object([
            "call_id": .string(callID), "started_event_id": startedEventID.map(JSONValue.string),
            "parties": .array(parties.map { party in
                object([
                    "id": .string(party.id), "role": .string(party.role), "jurisdiction": party.jurisdiction.map(JSONValue.string),
                    "device": party.device.map(JSONValue.string),
                ])
            }),
            "notices": .array(notices.map(\.document)), "consents": .array(consents.map(\.document)),
            "refusals": .array(refusals.map(\.document)), "recording_timeline": .array(recordingTimeline.map(\.document)),
        ])
    }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        self.init(callID: try fields.string("call_id"))
        startedEventID = fields.optionalString("started_event_id")
        parties = try fields.array("parties").map { (value) throws(FactDocumentError) in
            let party = Fields(value)
            return Party(
                id: try party.string("id"), role: try party.string("role"), jurisdiction: party.optionalString("jurisdiction"),
                device: party.optionalString("device"))
        }
        notices = try fields.array("notices").map(Fact.init(document:))
        consents = try fields.array("consents").map(Fact.init(document:))
        refusals = try fields.array("refusals").map(Fact.init(document:))
        recordingTimeline = try fields.array("recording_timeline").map(Fact.init(document:))
    }
}

extension CallFacts.Fact: FactDocument {
    package var document: JSONValue {
        object([
            "event_id": .string(eventID), "time": .string(time.rfc3339), "party_id": partyID.map(JSONValue.string),
            "method": method.map(JSONValue.string), "recording_id": recordingID.map(JSONValue.string),
            "scope": scope.map { .array($0.map(JSONValue.string)) }, "kind": kind.map(JSONValue.string),
        ])
    }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        self.init(
            eventID: try fields.string("event_id"), time: try fields.time("time"), partyID: fields.optionalString("party_id"),
            method: fields.optionalString("method"), recordingID: fields.optionalString("recording_id"),
            scope: document["scope"].map { _ in fields.strings("scope") }, kind: fields.optionalString("kind"))
    }
}

extension RecordingFacts: FactDocument {
    package var document: JSONValue {
        object([
            "recording_id": .string(recordingID), "call_id": callID.map(JSONValue.string), "stored": stored?.document,
            "deletions": .array(deletions.map(\.document)),
            "uses": .array(uses.map { use in
                object([
                    "event_id": .string(use.eventID), "time": .string(use.time.rfc3339), "role": .string(use.role), "kind": .string(use.kind),
                    "purpose": use.purpose.map(JSONValue.string), "anonymized": .bool(use.anonymized),
                    "country": use.country.map(JSONValue.string), "legal_basis": use.legalBasis.map(JSONValue.string),
                ])
            }),
            "holds": .array(holds.map { hold in
                object([
                    "hold_id": .string(hold.holdID), "placed_at": .string(hold.placedAt.rfc3339), "placed_event_id": .string(hold.placedEventID),
                    "released_at": hold.releasedAt.map { .string($0.rfc3339) }, "released_event_id": hold.releasedEventID.map(JSONValue.string),
                ])
            }),
        ])
    }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        self.init(recordingID: try fields.string("recording_id"))
        callID = fields.optionalString("call_id")
        stored = try document["stored"].map(Mark.init(document:))
        deletions = try fields.array("deletions").map(Mark.init(document:))
        uses = try fields.array("uses").map { (value) throws(FactDocumentError) in
            let use = Fields(value)
            return Use(
                eventID: try use.string("event_id"), time: try use.time("time"), role: try use.string("role"), kind: try use.string("kind"),
                purpose: use.optionalString("purpose"), anonymized: value["anonymized"]?.boolValue ?? false,
                country: use.optionalString("country"), legalBasis: use.optionalString("legal_basis"))
        }
        holds = try fields.array("holds").map { (value) throws(FactDocumentError) in
            let hold = Fields(value)
            return Hold(
                holdID: try hold.string("hold_id"), placedAt: try hold.time("placed_at"), placedEventID: try hold.string("placed_event_id"),
                releasedAt: try hold.optionalTime("released_at"), releasedEventID: hold.optionalString("released_event_id"))
        }
    }
}

extension RecordingFacts.Mark: FactDocument {
    package var document: JSONValue { .object([("event_id", .string(eventID)), ("time", .string(time.rfc3339))]) }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        self.init(eventID: try fields.string("event_id"), time: try fields.time("time"))
    }
}

extension HoldFacts: FactDocument {
    package var document: JSONValue {
        object(["recording_ids": .array(recordingIDs.map(JSONValue.string)), "placed": placed?.document, "released": released?.document])
    }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        self.init(
            recordingIDs: fields.strings("recording_ids"), placed: try document["placed"].map(RecordingFacts.Mark.init(document:)),
            released: try document["released"].map(RecordingFacts.Mark.init(document:)))
    }
}

/// The subject's recordings are left out: they are looked up afresh each time the request is judged.
extension RequestRecord: FactDocument {
    package var document: JSONValue {
        object([
            "subject_keys": .array(subjectKeys.map(JSONValue.string)), "request_id": .string(facts.requestID),
            "kind": .string(facts.kind.rawValue), "regime": .string(facts.regime), "received_at": .string(facts.receivedAt.rfc3339),
            "received_event_id": .string(facts.receivedEventID), "extended": .bool(facts.extended),
            "completed_at": facts.completedAt.map { .string($0.rfc3339) }, "source": source.map(JSONValue.string),
        ])
    }

    package init(document: JSONValue) throws(FactDocumentError) {
        let fields = Fields(document)
        guard let kind = fields.optionalString("kind").flatMap(SubjectRequestFacts.Kind.init(rawValue:)) else {
            throw FactDocumentError(field: "kind")
        }
        var facts = SubjectRequestFacts(
            requestID: try fields.string("request_id"), kind: kind, regime: try fields.string("regime"),
            receivedAt: try fields.time("received_at"), receivedEventID: try fields.string("received_event_id"))
        facts.extended = document["extended"]?.boolValue ?? false
        facts.completedAt = try fields.optionalTime("completed_at")
        self.init(subjectKeys: fields.strings("subject_keys"), facts: facts, source: fields.optionalString("source"))
    }
}

/// A JSON object, leaving out the members whose value is nil.
private func object(_ members: KeyValuePairs<String, JSONValue?>) -> JSONValue {
    .object(members.compactMap { key, value in value.map { (key, $0) } })
}

/// Typed reads of a fact document's members, throwing for what must be there.
private struct Fields {
    let value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    func string(_ key: String) throws(FactDocumentError) -> String {
        guard let string = value[key]?.stringValue else { throw FactDocumentError(field: key) }
        return string
    }

    func optionalString(_ key: String) -> String? { value[key]?.stringValue }

    func strings(_ key: String) -> [String] { (value[key]?.arrayValue ?? []).compactMap(\.stringValue) }

    func array(_ key: String) -> [JSONValue] { value[key]?.arrayValue ?? [] }

    func time(_ key: String) throws(FactDocumentError) -> Timestamp {
        guard let time = value[key]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { throw FactDocumentError(field: key) }
        return time
    }

    func optionalTime(_ key: String) throws(FactDocumentError) -> Timestamp? {
        guard let text = value[key]?.stringValue else { return nil }
        guard let time = Timestamp(rfc3339: text) else { throw FactDocumentError(field: key) }
        return time
    }
}
