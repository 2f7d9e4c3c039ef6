/// Where a value breaks the contract. Names the path and the rule, never the value,
/// because values may be personal data and this text reaches logs and the dead-letter store.
package struct ContractViolation: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var problem: String

    package var description: String { "\(path): \(problem)" }
}

extension Shape {
    /// Counted in code points, as JSON Schema's maxLength counts; the count stops at the limit.
    private static func bound(_ s: String, _ limit: Int, _ fail: (String) -> ContractViolation) throws(ContractViolation) {
        guard s.utf8.count > limit else { return }
        var count = 0
        for _ in s.unicodeScalars {
            count += 1
            if count > limit { throw fail("longer than \(limit) characters") }
        }
    }

    /// `path` is only spelled out when a value fails: building it for every
    /// field of every valid event was most of the cost of validating.
    package func validate(_ value: JSONValue, at path: @autoclosure () -> String) throws(ContractViolation) {
        func fail(_ problem: String) -> ContractViolation { ContractViolation(path: path(), problem: problem) }
        switch self {
        case .nonEmptyString, .text:
            guard let s = value.stringValue else { throw fail("expected a string, found \(value.typeName)") }
            guard !s.isEmpty else { throw fail("must not be empty") }
            if case .text = self { try Self.bound(s, Self.textMaxLength, fail) } else { try Self.bound(s, Self.identifierMaxLength, fail) }
        case .identifier(let reservedPrefix):
            try Shape.nonEmptyString.validate(value, at: path())
            // By bytes, as the one-pass decoder's plan checks it: `hasPrefix` compares characters, so
            // "dsr-" followed by a combining mark did not begin with "dsr-" for it.
            if value.stringValue!.utf8.starts(with: reservedPrefix.utf8) {
                throw fail("must not begin with \(reservedPrefix): CallAudit names its own that way")
            }
        case .string:
            guard let s = value.stringValue else { throw fail("expected a string, found \(value.typeName)") }
            try Self.bound(s, Self.textMaxLength, fail)
        case .boolean:
            guard value.boolValue != nil else { throw fail("expected a boolean, found \(value.typeName)") }
        case .integer(let minimum):
            guard let n = value.numberValue else { throw fail("expected an integer, found \(value.typeName)") }
            guard n.rounded(.towardZero) == n else { throw fail("expected an integer") }
            guard n >= Double(minimum) else { throw fail("must be at least \(minimum)") }
        case .number(let minimum):
            guard let n = value.numberValue else { throw fail("expected a number, found \(value.typeName)") }
            guard n >= minimum else { throw fail("must be at least \(minimum)") }
        case .oneOf(let allowed):
            guard let s = value.stringValue else { throw fail("expected a string, found \(value.typeName)") }
            guard allowed.contains(s) else { throw fail("must be one of \(allowed.joined(separator: ", "))") }
        case .pattern(let pattern):
            guard let s = value.stringValue else { throw fail("expected a string, found \(value.typeName)") }
            guard pattern.matches(s) else { throw fail("must be \(pattern.summary)") }
        case .list(let element, let minItems):
            guard let items = value.arrayValue else { throw fail("expected an array, found \(value.typeName)") }
            guard items.count >= minItems else { throw fail("needs at least \(minItems) item(s)") }
            for (i, item) in items.enumerated() {
                try element.validate(item, at: "\(path())[\(i)]")
            }
        case .object(let object):
            try object.validate(value, at: path())
        case .nullable(let inner):
            if value == .null { return }
            try inner.validate(value, at: path())
        }
    }
}

extension ObjectShape {
    package func validate(_ value: JSONValue, at path: @autoclosure () -> String) throws(ContractViolation) {
        guard let members = value.objectValue else {
            throw ContractViolation(path: path(), problem: "expected an object, found \(value.typeName)")
        }
        for field in fields {
            guard let member = members.first(where: { $0.key == field.name }) else {
                if field.required { throw ContractViolation(path: "\(path()).\(field.name)", problem: "is required") }
                continue
            }
            try field.shape.validate(member.value, at: "\(path()).\(field.name)")
        }
        for name in reserved where members.contains(where: { $0.key == name }) {
            throw ContractViolation(path: "\(path()).\(name)", problem: "is reserved: CallAudit writes it itself")
        }
        if !atLeastOneOf.isEmpty, !atLeastOneOf.contains(where: { name in members.contains { $0.key == name } }) {
            throw ContractViolation(path: path(), problem: "needs at least one of \(atLeastOneOf.joined(separator: ", "))")
        }
    }
}
