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
        // Over the UTF-8 bytes: every character the rule accepts is ASCII, and a byte of a
        // non-ASCII scalar is neither a digit nor a separator, so it refuses what the scalars would.
        var rest = Substring(text).utf8[...]
        if rest.first == UInt8(ascii: "+") {
            rest = rest.dropFirst()
        } else if rest.starts(with: "00".utf8) {
            rest = rest.dropFirst(2)
        } else {
            return nil
        }
        var digits: [UInt8] = [UInt8(ascii: "+")]
        digits.reserveCapacity(16)
        for byte in rest {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits.append(byte)
                guard digits.count <= 16 else { return nil }
                continue
            }
            guard Self.phoneSeparators.contains(byte) else { return nil }
        }
        guard digits.count >= 3, digits[1] != UInt8(ascii: "0") else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    private static let phoneSeparators = Array(" ()./-".utf8)

    /// What the blind index is computed over: the kind and the normalised value.
    package var indexInput: [UInt8] {
        // The kind, a colon, the value: written once into an array of its size.
        let (kind, value) = (self.kind.utf8, self.value.utf8)
        return [UInt8](unsafeUninitializedCapacity: kind.count + 1 + value.count) { buffer, count in
            var end = buffer.initialize(fromContentsOf: kind)
            buffer[end] = UInt8(ascii: ":")
            end += 1
            count = end + UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: value)
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
        // The four are ASCII, so trimming bytes trims the same scalars; the usual value, with
        // nothing to trim, is returned as it is.
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last, isSpace(first) || isSpace(last) else { return text }
        var bytes = Substring(text).utf8[...]
        while let byte = bytes.first, isSpace(byte) { bytes.removeFirst() }
        while let byte = bytes.last, isSpace(byte) { bytes.removeLast() }
        return String(Substring(bytes))
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
