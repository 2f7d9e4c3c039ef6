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
        let trimmed = Self.trimmed(value)
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

    /// E.164: `+` (or `00`), then 2 to 15 digits, the first not 0, with any
    /// of ` ()./-` between them. `+1 (415) 555-0100` is `+14155550100`.
    /// (The API's schema states the same rule as a pattern.)
    static func e164(_ text: String) -> String? {
        var rest = Substring(text)
        if rest.hasPrefix("+") { rest = rest.dropFirst() } else if rest.hasPrefix("00") { rest = rest.dropFirst(2) } else { return nil }
        var digits = ""
        for scalar in rest.unicodeScalars {
            if ("0"..."9").contains(scalar) { digits.unicodeScalars.append(scalar); continue }
            guard " ()./-".unicodeScalars.contains(scalar) else { return nil }
        }
        guard (2...15).contains(digits.count), digits.first != "0" else { return nil }
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

    /// The normalised value.
    package var value: String {
        switch self {
        case .phone(let v), .email(let v), .customerID(let v), .employeeID(let v): v
        }
    }

    /// Whether the event contract would accept it: an e-mail address has one `@` with text either side.
    package var isWellFormed: Bool {
        guard case .email(let address) = self else { return true }
        let parts = address.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }

    /// Without leading and trailing spaces, tabs and line breaks, scalar by
    /// scalar (as the API's patterns count them; `\r\n` is two).
    package static func trimmed(_ text: String) -> String {
        let space: Set<Unicode.Scalar> = [" ", "\t", "\n", "\r"]
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, space.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, space.contains(last) { scalars.removeLast() }
        return String(scalars)
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
