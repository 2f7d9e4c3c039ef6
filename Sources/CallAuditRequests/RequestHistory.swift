import CallAuditDomain

/// What happened to a request, oldest first, for its page: each event of its
/// stream as `{at, type, actor, note}`. A note says what the event did in
/// words and never carries the person: no identifiers, no subject, no
/// pseudonyms, only kinds, outcomes, counts and the DPO's stated reason.
package enum RequestHistory {
    /// The entries of a request stream's documents, in log order, as `SubjectRequest.fold` reads them:
    /// a later opening is a claim it ignores, and after an opening only CallAudit's own events count.
    package static func entries(_ documents: [JSONValue]) -> [JSONValue] {
        var opened = false
        return documents.compactMap { document in
            guard let type = document["type"]?.stringValue, let time = document["time"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                let data = document["data"]
            else { return nil }
            let own = document["source"]?.stringValue == OwnEventType.source
            let opening = type == OwnEventType.requestOpened.rawValue || type == EventType.subjectErasureRequested.rawValue
            guard opening || own else { return nil }
            let note: String
            if opening {
                note = opened ? "another opening naming this request, ignored" : openingNote(type, data)
                opened = true
            } else {
                guard opened, let text = ownNote(OwnEventType(rawValue: type), data) else { return nil }
                note = text
            }
            return ["at": .string(time.rfc3339), "type": .string(type), "actor": own ? actor(data) : .null, "note": .string(note)]
        }
    }

    private static func openingNote(_ type: String, _ data: JSONValue) -> String {
        guard type == OwnEventType.requestOpened.rawValue else { return "erasure request received from the platform" }
        let kind = data["kind"]?.stringValue == "erasure" ? "erasure" : "access"
        return "\(kind) request opened under \(data["regime"]?.stringValue == "ccpa" ? "CCPA" : "GDPR"), identity verified"
    }

    private static func ownNote(_ type: OwnEventType?, _ data: JSONValue) -> String? {
        switch type {
        case .requestExtended:
            return "deadline extended: \(data["reason"]?.stringValue ?? "")"
        case .requestClosed:
            return "closed as \(["answered", "rejected", "withdrawn"].first { $0 == data["outcome"]?.stringValue } ?? "answered")"
        case .requestExported:
            return "access export made: \(count(data["files"]?.numberValue)) file(s), manifest signed"
        case .subjectErased:
            let persons = data["subjects"]?.arrayValue?.count ?? 0
            let held = data["held_back"]?.arrayValue?.count ?? 0
            return "erased: \(persons) person(s); \(held) recording(s) held back by legal holds"
        default:
            return nil
        }
    }

    /// Who acted: the token's (or operator's) name and role, and the channel when the event records it.
    private static func actor(_ data: JSONValue) -> JSONValue {
        guard let by = data["by"] ?? data["opened_by"], let name = by["name"]?.stringValue, let role = by["role"]?.stringValue else { return .null }
        return ["name": .string(name), "role": .string(role), "channel": data["channel"]?.stringValue.map(JSONValue.string) ?? .null]
    }

    private static func count(_ value: Double?) -> Int { value.map { Int(exactly: $0) ?? 0 } ?? 0 }
}
