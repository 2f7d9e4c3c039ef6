import CallAuditDomain

/// Where subject objects (the `x-pii` members) sit in each event type, and
/// how to swap one for its sealed form.
enum SubjectPaths {
    /// A member path inside the document: object keys and array indexes.
    enum Step: Equatable { case key(String), index(Int) }

    struct Located {
        var path: [Step]
        var value: JSONValue
    }

    /// Every plaintext subject object in the event (sealed ones are left alone).
    static func subjects(in event: DecodedEvent) -> [Located] {
        let data = event.document["data"]
        var found: [Located] = []
        if let parties = data?["parties"]?.arrayValue {
            for (index, party) in parties.enumerated() {
                if let subject = party["subject"], isPlain(subject) {
                    found.append(Located(path: [.key("data"), .key("parties"), .index(index), .key("subject")], value: subject))
                }
            }
        }
        if let subject = data?["subject"], isPlain(subject) {
            found.append(Located(path: [.key("data"), .key("subject")], value: subject))
        }
        return found
    }

    private static func isPlain(_ subject: JSONValue) -> Bool {
        subject.objectValue != nil && subject["sealed"] == nil
    }

    static func replacing(_ path: [Step], in document: JSONValue, with value: JSONValue) -> JSONValue {
        guard let step = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch (step, document) {
        case (.key(let name), .object(var members)):
            guard let index = members.firstIndex(where: { $0.key == name }) else { return document }
            members[index].value = replacing(rest, in: members[index].value, with: value)
            return .object(members)
        case (.index(let position), .array(var elements)):
            guard elements.indices.contains(position) else { return document }
            elements[position] = replacing(rest, in: elements[position], with: value)
            return .array(elements)
        default:
            return document
        }
    }
}
