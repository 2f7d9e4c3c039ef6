/// Where personal data may sit in an event: only inside subject objects,
/// which the subject vault seals whole before anything is stored.
///
/// The contract names a person's identifiers and name as personal data and
/// puts them in `subject` objects (a party's, an erasure request's). Extra
/// members are kept, so a producer could also send an identifier beside a
/// subject, or a subject at a place the contract does not name. Neither may
/// reach the store in the clear: every object named `subject` anywhere in an
/// event's `data` is sealed, and an identifier-named member outside one is
/// refused (the message is dead-lettered, sealed).
package enum PersonalData {
    /// Members that are personal data wherever they appear.
    package static let memberNames: Set<String> = ["phone", "email", "customer_id", "employee_id", "name"]

    /// Whether `key` is one of `memberNames`, without hashing it: the check runs for every member of every event.
    static func isPersonalName(_ key: String) -> Bool {
        switch key.utf8.count {
        case 4: key == "name"
        case 5: key == "phone" || key == "email"
        case 11: key == "customer_id" || key == "employee_id"
        default: false
        }
    }

    /// The paths (from the event's top level) of every subject object in the
    /// event's `data`, outermost first; a subject inside a subject is part of it.
    package static func subjectPaths(in document: JSONValue) -> [[JSONPathStep]] {
        guard let data = document["data"] else { return [] }
        var paths: [[JSONPathStep]] = []
        var path: [JSONPathStep] = [.key("data")]
        collectSubjects(in: data, path: &path, into: &paths)
        return paths
    }

    /// Throws when an identifier-named member sits outside every subject
    /// object, anywhere in the event. Names the path, never the value.
    package static func checkConfined(_ document: JSONValue) throws(ContractViolation) {
        var path: [JSONPathStep] = []
        try checkConfined(document, path: &path, insideData: false)
    }

    private static func collectSubjects(in value: JSONValue, path: inout [JSONPathStep], into paths: inout [[JSONPathStep]]) {
        switch value {
        case .object(let members):
            for (key, member) in members {
                path.append(.key(key))
                if key == "subject", member.objectValue != nil {
                    paths.append(path)
                } else {
                    collectSubjects(in: member, path: &path, into: &paths)
                }
                path.removeLast()
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append(.index(index))
                collectSubjects(in: element, path: &path, into: &paths)
                path.removeLast()
            }
        default:
            break
        }
    }

    private static func checkConfined(_ value: JSONValue, path: inout [JSONPathStep], insideData: Bool) throws(ContractViolation) {
        switch value {
        case .object(let members):
            for (key, member) in members {
                // A subject object is sealed whole, whatever it holds.
                if insideData, key == "subject", member.objectValue != nil { continue }
                path.append(.key(key))
                defer { path.removeLast() }
                if isPersonalName(key) {
                    throw ContractViolation(
                        path: JSONPathStep.describe(path),
                        problem: "is personal data outside a subject object; identifiers and names belong in a subject, where they are sealed")
                }
                try checkConfined(member, path: &path, insideData: insideData || (path.count == 1 && key == "data"))
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append(.index(index))
                defer { path.removeLast() }
                try checkConfined(element, path: &path, insideData: insideData)
            }
        default:
            break
        }
    }
}

/// One step of a path into a JSON document: an object member or an array element.
package enum JSONPathStep: Sendable, Hashable {
    case key(String)
    case index(Int)

    /// Every member name the contract uses: the CloudEvents attributes, each
    /// type's data fields (nested ones too), the vault's reserved members and
    /// the names of personal data.
    static let contractNames: Set<String> = {
        var names: Set<String> = ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "data"]
        func collect(_ shape: Shape) {
            switch shape {
            case .list(let element, _), .nullable(let element): collect(element)
            case .object(let object):
                names.formUnion(object.fields.map(\.name) + object.reserved)
                for field in object.fields { collect(field.shape) }
            default: break
            }
        }
        for type in EventType.allCases { collect(.object(EventContract.data(of: type))) }
        return names.union(PersonalData.memberNames)
    }()

    /// `data.parties[0].subject`: how rejections name a place. A producer
    /// chose the member names, and a rejection reaches logs, so only a name the
    /// contract itself uses is shown; any other is `*` (a name could be a
    /// phone number).
    package static func describe(_ path: [JSONPathStep]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key):
                let name = contractNames.contains(key) ? key : "*"
                text += text.isEmpty ? name : ".\(name)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
