import CallAuditDomain

/// A person's identifiers in the form they are matched in: what the same
/// person gives in different spellings maps to the same value.
package enum Identifier: Sendable, Hashable {
    case phone(String)
    case email(String)
    case customerID(String)
    case employeeID(String)

    /// The kinds a subject object can carry, in the order a party's identifiers are tried.
    package static let kinds = ["phone", "email", "customer_id", "employee_id"]

    /// Normalises one member of a subject object; nil when it is empty or not an identifier (a name is not).
    package init?(kind: String, value: String) {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        switch kind {
        case "phone":
            guard let phone = Self.e164(trimmed) else { return nil }
            self = .phone(phone)
        case "email":
            guard !trimmed.isEmpty else { return nil }
            self = .email(trimmed.lowercased())
        case "customer_id":
            guard !trimmed.isEmpty else { return nil }
            self = .customerID(trimmed)
        case "employee_id":
            guard !trimmed.isEmpty else { return nil }
            self = .employeeID(trimmed)
        default:
            return nil
        }
    }

    /// Every identifier a subject object carries.
    package static func all(in subject: JSONValue) -> [Identifier] {
        kinds.compactMap { kind in subject[kind]?.stringValue.flatMap { Identifier(kind: kind, value: $0) } }
    }

    /// E.164: `+` and digits, separators dropped; `00` counts as `+`. `+1 (415) 555-0100` is `+14155550100`.
    static func e164(_ text: String) -> String? {
        var digits = ""
        var international = false
        for (index, character) in text.enumerated() {
            if character == "+" && index == 0 { international = true; continue }
            if character.isASCII && character.isNumber { digits.append(character); continue }
            guard " ()-./".contains(character) else { return nil }
        }
        if !international, digits.hasPrefix("00") { digits.removeFirst(2); international = true }
        guard international, (2...15).contains(digits.count), digits.first != "0" else { return nil }
        return "+" + digits
    }

    /// What the blind index is computed over: the kind and the normalised value.
    package var indexInput: [UInt8] {
        switch self {
        case .phone(let v): Array("phone:\(v)".utf8)
        case .email(let v): Array("email:\(v)".utf8)
        case .customerID(let v): Array("customer_id:\(v)".utf8)
        case .employeeID(let v): Array("employee_id:\(v)".utf8)
        }
    }

    package var kind: String {
        switch self {
        case .phone: "phone"
        case .email: "email"
        case .customerID: "customer_id"
        case .employeeID: "employee_id"
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Set where Element == Character {
    fileprivate static let whitespacesAndNewlines: Set<Character> = [" ", "\t", "\n", "\r"]
}
