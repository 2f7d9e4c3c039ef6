/// The shape a JSON value must have: the vocabulary the event contract is written in.
///
/// One description drives both the Swift validator and the published JSON
/// Schemas, and a test checks the two against an independent validator.
package indirect enum Shape: Sendable {
    /// An identifier: 1 to `identifierMaxLength` characters.
    case nonEmptyString
    /// An identifier that must not begin with `reservedPrefix`: the namespace of ids CallAudit makes itself.
    case identifier(notPrefixed: String)
    /// Free text (a URI, a name, a reason): 1 to `textMaxLength` characters.
    case text
    /// Any string up to `textMaxLength` characters.
    case string
    case boolean
    case integer(minimum: Int)
    case number(minimum: Double)
    case oneOf([String])
    case pattern(StringPattern)
    case list(of: Shape, minItems: Int)
    case object(ObjectShape)
    case nullable(Shape)
}

extension Shape {
    /// Longest identifier (call, recording, party, request, actor, event id…), in Unicode code points.
    package static let identifierMaxLength = 256
    /// Longest free text, in Unicode code points.
    package static let textMaxLength = 2_048
}

/// A member of an object shape.
package struct Field: Sendable {
    package var name: String
    package var shape: Shape
    package var required: Bool
    /// Personal data (docs/product.md §1): never logged, encrypted per subject, erasable.
    package var pii: Bool

    package static func required(_ name: String, _ shape: Shape, pii: Bool = false) -> Field {
        Field(name: name, shape: shape, required: true, pii: pii)
    }

    package static func optional(_ name: String, _ shape: Shape, pii: Bool = false) -> Field {
        Field(name: name, shape: shape, required: false, pii: pii)
    }
}

/// An object with known members; unknown members are allowed and kept,
/// except reserved ones.
package struct ObjectShape: Sendable {
    package var fields: [Field]
    /// At least one of these members must be present.
    package var atLeastOneOf: [String]
    /// Members CallAudit itself writes into the stored form (the vault's
    /// `subject_ref` and `sealed`): a producer that sent them could pass
    /// plaintext off as sealed, or name someone else's pseudonym.
    package var reserved: [String]

    package init(_ fields: [Field], atLeastOneOf: [String] = [], reserved: [String] = []) {
        self.fields = fields
        self.atLeastOneOf = atLeastOneOf
        self.reserved = reserved
    }
}

/// String formats the contract checks, each with its ECMA-262 regular expression.
package enum StringPattern: String, Sendable {
    case e164
    case email
    case jurisdiction
    case country
    case sha256Hex

    package var regularExpression: String {
        switch self {
        case .e164: #"^\+[1-9][0-9]{1,14}$"#
        case .email: #"^[^@]+@[^@]+$"#
        case .jurisdiction: #"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"#
        case .country: #"^[A-Z]{2}$"#
        case .sha256Hex: #"^[0-9a-f]{64}$"#
        }
    }

    package var summary: String {
        switch self {
        case .e164: "an E.164 number (+ and up to 15 digits)"
        case .email: "an e-mail address"
        case .jurisdiction: "an ISO 3166-1 alpha-2 code, optionally with an ISO 3166-2 subdivision (US-CA)"
        case .country: "an ISO 3166-1 alpha-2 code"
        case .sha256Hex: "64 lowercase hexadecimal digits"
        }
    }

    /// Hand-written matchers: the same languages as `regularExpression`, without a regex engine on the hot path.
    package func matches(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { matches(utf8: $0) }
    }

    /// `matches` on UTF-8 bytes (indexed from 0): what the one-pass decoder calls, with no String to make.
    package func matches(utf8 u: UnsafeBufferPointer<UInt8>) -> Bool {
        func upper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        switch self {
        case .e164:
            return u.count >= 3 && u.count <= 16 && u[0] == UInt8(ascii: "+") && u[1] >= 0x31 && u[1] <= 0x39
                && u.dropFirst().allSatisfy(digit)
        case .email:
            // Exactly one `@`, with something before and after it.
            guard let at = u.firstIndex(of: UInt8(ascii: "@")) else { return false }
            return at > 0 && at < u.count - 1 && !u[(at + 1)...].contains(UInt8(ascii: "@"))
        case .jurisdiction:
            guard u.count >= 2, upper(u[0]), upper(u[1]) else { return false }
            if u.count == 2 { return true }
            return u.count >= 4 && u.count <= 6 && u[2] == UInt8(ascii: "-")
                && u[3...].allSatisfy { upper($0) || digit($0) }
        case .country:
            return u.count == 2 && upper(u[0]) && upper(u[1])
        case .sha256Hex:
            return u.count == 64 && u.allSatisfy { digit($0) || ($0 >= 0x61 && $0 <= 0x66) }
        }
    }
}
