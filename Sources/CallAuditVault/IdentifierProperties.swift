import CallAuditDomain

/// What identifier normalisation promises, checked on any text: normalising a
/// normalised value gives it back byte for byte (so the blind index of a
/// person's identifier is the same however often it passed through), phone
/// numbers come out in the contract's E.164 form and are recognised exactly
/// when an independent reading of the documented rule says so, e-mail
/// addresses are trimmed and lowercased, and a name is never an identifier.
/// Shared by the `identifier` fuzz target and its regression test.
package enum IdentifierProperties {
    /// The kind a fuzz input names: its first byte picks one, the rest is the value.
    package static let kinds = Identifier.kinds + ["name", "Phone", ""]

    package static func check(_ input: [UInt8]) throws(PropertyViolation) {
        guard let selector = input.first else { return }
        let kind = kinds[Int(selector) % kinds.count]
        let text = String(decoding: input.dropFirst(), as: UTF8.self)
        try checkTrimmed(text)
        try checkPhoneRule(text)
        let identifier = Identifier(kind: kind, value: text)
        guard Identifier.kinds.contains(kind) else {
            return try PropertyViolation.require(identifier == nil, "only \(Identifier.kinds) are identifiers, not '\(kind)'")
        }
        guard let identifier else {
            return try PropertyViolation.require(kind == "phone" || Identifier.trimmed(text).isEmpty, "a non-empty \(kind) is an identifier")
        }
        let value = identifier.value
        try PropertyViolation.require(identifier.kind == kind, "the identifier keeps its kind")
        try PropertyViolation.require(!value.isEmpty, "a normalised value is not empty")
        try PropertyViolation.require(same(Identifier.trimmed(value), value), "a normalised value has no surrounding space")
        guard let again = Identifier(kind: kind, value: value) else { throw PropertyViolation("a normalised \(kind) is an identifier again") }
        try PropertyViolation.require(again == identifier && same(again.value, value), "normalising a normalised \(kind) gives it back")
        try PropertyViolation.require(identifier.indexInput == Array("\(kind):".utf8) + Array(value.utf8), "the blind index covers the kind and the value")
        switch identifier {
        case .phone:
            try PropertyViolation.require(StringPattern.e164.matches(value), "a normalised phone number matches the contract's E.164 pattern")
        case .email:
            try PropertyViolation.require(same(value, Identifier.trimmed(text).lowercased()), "an e-mail address is trimmed and lowercased")
            try PropertyViolation.require(identifier.isWellFormed == StringPattern.email.matches(value), "well-formed means what the contract's pattern means")
        case .customerID, .employeeID:
            try PropertyViolation.require(same(value, Identifier.trimmed(text)), "an id is only trimmed")
        }
    }

    /// Trimming removes exactly the leading and trailing spaces, tabs and line breaks, and is idempotent.
    private static func checkTrimmed(_ text: String) throws(PropertyViolation) {
        let space: Set<Unicode.Scalar> = [" ", "\t", "\n", "\r"]
        let scalars = Array(text.unicodeScalars)
        let start = scalars.firstIndex { !space.contains($0) } ?? scalars.count
        let end = (scalars.lastIndex { !space.contains($0) } ?? -1) + 1
        let expected = start < end ? String(String.UnicodeScalarView(scalars[start..<end])) : ""
        let trimmed = Identifier.trimmed(text)
        try PropertyViolation.require(same(trimmed, expected), "trimming removes exactly the surrounding spaces, tabs and line breaks")
        try PropertyViolation.require(same(Identifier.trimmed(trimmed), trimmed), "trimming is idempotent")
    }

    /// The documented rule, read scalar by scalar apart from `Identifier.e164`:
    /// `+` or `00`, then 2 to 15 digits, the first not 0, with any of ` ()./-` between.
    private static func checkPhoneRule(_ text: String) throws(PropertyViolation) {
        let scalars = Array(Identifier.trimmed(text).unicodeScalars)
        let prefix = scalars.first == "+" ? 1 : (scalars.starts(with: ["0", "0"]) ? 2 : nil)
        var expected: String? = nil
        if let prefix, scalars[prefix...].allSatisfy({ ("0"..."9").contains($0) || " ()./-".unicodeScalars.contains($0) }) {
            let digits = scalars[prefix...].filter { ("0"..."9").contains($0) }
            if (2...15).contains(digits.count), digits.first != "0" { expected = "+" + String(String.UnicodeScalarView(digits)) }
        }
        let actual = Identifier(kind: "phone", value: text)?.value
        try PropertyViolation.require(
            actual.map { Array($0.utf8) } == expected.map { Array($0.utf8) },
            "a phone number is recognised exactly by the documented rule (\(actual == nil ? "rejected" : "accepted"), the rule says \(expected == nil ? "no" : "yes"))")
        if let actual {
            try PropertyViolation.require(Identifier.e164(actual) == actual, "E.164 normalisation is idempotent")
        }
    }

    private static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}
