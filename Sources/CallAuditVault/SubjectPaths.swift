import CallAuditDomain

/// Where subject objects sit in an event, and how to swap one for its sealed form.
enum SubjectPaths {
    struct Located {
        var path: [JSONPathStep]
        var value: JSONValue
    }

    /// Every subject object in the event's data, wherever it sits and whatever
    /// it holds: the decoder refuses the vault's own members (`sealed`,
    /// `subject_ref`) in incoming events, so nothing here is sealed already.
    static func subjects(in event: DecodedEvent) -> [Located] {
        // The one-pass decoder looked already, and found none: no tree to read.
        guard !event.holdsNoSubjects else { return [] }
        return PersonalData.subjectPaths(in: event.document).compactMap { path in
            value(at: path, in: event.document).map { Located(path: path, value: $0) }
        }
    }

    private static func value(at path: [JSONPathStep], in document: JSONValue) -> JSONValue? {
        var node = document
        for step in path {
            switch step {
            case .key(let name): guard let next = node[name] else { return nil }; node = next
            case .index(let position): guard let elements = node.arrayValue, elements.indices.contains(position) else { return nil }; node = elements[position]
            }
        }
        return node
    }

    static func replacing(_ path: [JSONPathStep], in document: JSONValue, with value: JSONValue) -> JSONValue {
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
