/// What `JSONParser` and the RFC 8785 writer promise, checked on any bytes.
/// Shared by the `json` and `canonical` fuzz targets and their regression tests.
package enum JSONProperties {
    /// The parser against an independent RFC 8259 grammar: it accepts only
    /// JSON, rejects JSON only for its documented I-JSON limits, says where,
    /// reads bytes and strings alike, and what it returns writes back as itself.
    package static func checkParser(_ input: [UInt8]) throws(PropertyViolation) {
        let grammar = ReferenceJSONGrammar.deepestValue(in: input)
        let value: JSONValue
        do {
            value = try JSONParser.parse(input)
        } catch {
            try PropertyViolation.require((0...input.count).contains(error.offset), "an error's offset \(error.offset) lies in 0...\(input.count)")
            try checkRejection(error, of: input, grammar: grammar)
            return
        }
        try PropertyViolation.require(grammar != nil, "the parser accepts only RFC 8259 JSON text")
        try PropertyViolation.require(grammar! < JSONParser.maximumDepth, "no accepted value is nested \(JSONParser.maximumDepth) deep")
        guard let text = String(validating: input, as: UTF8.self) else { throw PropertyViolation("an accepted document is UTF-8") }
        do {
            let fromText = try JSONParser.parse(text)
            try PropertyViolation.require(identical(fromText, value, orderedMembers: true), "bytes and String parse to the same value")
        } catch let error as JSONParseError {
            throw PropertyViolation("the String entry point accepts what the bytes one does (\(error))")
        } catch {
            throw error as! PropertyViolation
        }
        try checkTree(value)
        let compact = value.compactBytes
        guard let back = try? JSONParser.parse(compact) else { throw PropertyViolation("the compact form parses") }
        try PropertyViolation.require(identical(back, value, orderedMembers: true), "the compact form keeps every value in order")
    }

    /// RFC 8785: whatever parses canonicalises; the canonical form parses to the
    /// same value and canonicalises to the same bytes (a fixed point); it is what
    /// an independent writer produces; each number is ECMAScript's shortest form.
    package static func checkCanonical(_ input: [UInt8]) throws(PropertyViolation) {
        guard let value = try? JSONParser.parse(input) else { return }
        let canonical = value.canonicalBytes
        let reparsed: JSONValue
        do {
            reparsed = try JSONParser.parse(canonical)
        } catch {
            throw PropertyViolation("the canonical form of an accepted document parses (\(error))")
        }
        try PropertyViolation.require(reparsed.canonicalBytes == canonical, "the canonical form is a fixed point")
        try PropertyViolation.require(identical(reparsed, value, orderedMembers: false), "the canonical form keeps every value")
        try PropertyViolation.require(ReferenceCanonicalWriter.bytes(value) == canonical, "the canonical form is RFC 8785's (reference writer)")
        try checkNumbers(in: value)
        if case .object(let members) = value {
            let direct = CanonicalObject.bytes(members.map { (key: $0.key, value: .value($0.value)) })
            let encoded = CanonicalObject.bytes(members.map { (key: $0.key, value: .encoded($0.value.canonicalBytes)) })
            try PropertyViolation.require(direct == canonical && encoded == canonical, "CanonicalObject writes what JSONValue writes")
        }
    }

    // MARK: - Parts

    /// A document the grammar accepts is rejected only for an I-JSON limit.
    private static func checkRejection(_ error: JSONParseError, of input: [UInt8], grammar: Int?) throws(PropertyViolation) {
        guard let deepest = grammar else { return }
        let limits = ["duplicate member name", "number out of range", "invalid UTF-8 in string", "unpaired surrogate"]
        if error.message.hasPrefix("nesting deeper than") {
            try PropertyViolation.require(deepest >= JSONParser.maximumDepth, "nesting is rejected only past \(JSONParser.maximumDepth) levels")
            return
        }
        try PropertyViolation.require(limits.contains(error.message), "RFC 8259 JSON is rejected only for an I-JSON limit, not '\(error.message)'")
    }

    /// Member names are distinct (I-JSON) and numbers finite, all the way down.
    private static func checkTree(_ value: JSONValue) throws(PropertyViolation) {
        switch value {
        case .number(let n): try PropertyViolation.require(n.isFinite, "numbers are finite")
        case .array(let elements): for element in elements { try checkTree(element) }
        case .object(let members):
            try PropertyViolation.require(Set(members.map { Array($0.key.utf8) }).count == members.count, "member names are distinct")
            for member in members { try checkTree(member.value) }
        default: break
        }
    }

    private static func checkNumbers(in value: JSONValue) throws(PropertyViolation) {
        switch value {
        case .number(let n): try checkNumberText(JSONValue.number(n).canonicalString, n)
        case .array(let elements): for element in elements { try checkNumbers(in: element) }
        case .object(let members): for member in members { try checkNumbers(in: member.value) }
        default: break
        }
    }

    /// ECMA-262 Number::toString, checked from its definition: the text reads
    /// back as the number, uses an exponent exactly outside [1e-6, 1e21), has
    /// no superfluous zeros, and no shorter digit string reads back as it.
    package static func checkNumberText(_ text: String, _ n: Double) throws(PropertyViolation) {
        try PropertyViolation.require(Double(text) == n, "\(text) reads back as the number it writes")
        if n == 0 { return try PropertyViolation.require(text == "0", "zero is written 0") }
        let magnitude = text.hasPrefix("-") ? String(text.dropFirst()) : text
        let parts = magnitude.split(separator: "e", omittingEmptySubsequences: false)
        let usesExponent = parts.count == 2
        try PropertyViolation.require(usesExponent == (abs(n) < 1e-6 || abs(n) >= 1e21), "\(text): an exponent exactly outside [1e-6, 1e21)")
        let mantissa = parts[0]
        if usesExponent {
            try PropertyViolation.require(parts[1].first == "+" || parts[1].first == "-", "\(text): the exponent has a sign")
            try PropertyViolation.require(mantissa.first != "0" && (mantissa.count == 1 || mantissa.dropFirst().first == "."), "\(text): one digit before the point")
        }
        if let point = mantissa.firstIndex(of: ".") {
            try PropertyViolation.require(mantissa.last != "0" && mantissa.last != ".", "\(text): no trailing zeros")
            try PropertyViolation.require(mantissa[..<point] == "0" || mantissa.first != "0", "\(text): no leading zeros")
        } else {
            try PropertyViolation.require(mantissa.first != "0", "\(text): no leading zeros")
        }
        // The significant digits s and the point position p: |n| = 0.s × 10^p.
        var digits = mantissa.filter { $0 != "." }
        var point = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count)
            + (usesExponent ? Int(parts[1])! : 0)
        while digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.last == "0" { digits.removeLast() }
        guard digits.count > 1 else { return }
        // Any shorter digit string that reads back lies between these two (the
        // numbers that read back as n form an interval around it).
        let shorter = String(digits.dropLast())
        let sign = n < 0 ? "-" : ""
        for candidate in ["0.\(shorter)e\(point)", roundedUp(shorter, point: point)] {
            try PropertyViolation.require(Double(sign + candidate) != n, "\(text) is the shortest form (\(sign + candidate) reads back too)")
        }
    }

    /// 0.digits × 10^point plus one unit in the last digit, as number text.
    private static func roundedUp(_ digits: String, point: Int) -> String {
        var bytes = Array(digits.utf8)
        var index = bytes.count - 1
        while index >= 0, bytes[index] == UInt8(ascii: "9") {
            bytes[index] = UInt8(ascii: "0")
            index -= 1
        }
        // All nines: 0.99…9 plus one unit is 1 × 10^point.
        guard index >= 0 else { return "1e\(point)" }
        bytes[index] += 1
        return "0.\(String(decoding: bytes, as: UTF8.self))e\(point)"
    }

    /// The same value, strings compared byte for byte (Swift's `==` on strings
    /// is canonical equivalence, which would hide a changed byte).
    package static func identical(_ a: JSONValue, _ b: JSONValue, orderedMembers: Bool) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.array(x), .array(y)):
            return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1, orderedMembers: orderedMembers) }
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            let (left, right) = orderedMembers ? (x, y) : (ReferenceCanonicalWriter.sorted(x), ReferenceCanonicalWriter.sorted(y))
            return zip(left, right).allSatisfy {
                $0.key.utf8.elementsEqual($1.key.utf8) && identical($0.value, $1.value, orderedMembers: orderedMembers)
            }
        default: return false
        }
    }
}

/// RFC 8259's grammar and nothing else (no UTF-8, duplicate or range checks),
/// written apart from `JSONParser` (a state machine, no recursion) so the two
/// can be held against each other.
package enum ReferenceJSONGrammar {
    private enum State { case value, firstElementOrEnd, firstMemberOrEnd, member, afterValue }

    /// The depth of the most deeply nested value (the top level is 0), or nil when `b` is not JSON text.
    package static func deepestValue(in b: [UInt8]) -> Int? {
        var i = 0
        var open: [UInt8] = []
        var deepest = 0
        var state = State.value
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }
        while true {
            skipSpace()
            switch state {
            case .value:
                guard i < b.count else { return nil }
                deepest = max(deepest, open.count)
                switch b[i] {
                case UInt8(ascii: "{"): open.append(UInt8(ascii: "}")); i += 1; state = .firstMemberOrEnd
                case UInt8(ascii: "["): open.append(UInt8(ascii: "]")); i += 1; state = .firstElementOrEnd
                case UInt8(ascii: "\""): guard string(b, &i) else { return nil }; state = .afterValue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): guard number(b, &i) else { return nil }; state = .afterValue
                default:
                    guard let word = ["true", "false", "null"].first(where: { b[i...].starts(with: $0.utf8) }) else { return nil }
                    i += word.utf8.count
                    state = .afterValue
                }
            case .firstElementOrEnd:
                if i < b.count, b[i] == UInt8(ascii: "]") { open.removeLast(); i += 1; state = .afterValue } else { state = .value }
            case .firstMemberOrEnd:
                if i < b.count, b[i] == UInt8(ascii: "}") { open.removeLast(); i += 1; state = .afterValue } else { state = .member }
            case .member:
                guard i < b.count, b[i] == UInt8(ascii: "\""), string(b, &i) else { return nil }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                state = .value
            case .afterValue:
                guard let close = open.last else { return i == b.count ? deepest : nil }
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    state = close == UInt8(ascii: "}") ? .member : .value
                } else if b[i] == close {
                    open.removeLast()
                    i += 1
                } else {
                    return nil
                }
            }
        }
    }

    private static func string(_ b: [UInt8], _ i: inout Int) -> Bool {
        i += 1
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\""): i += 1; return true
            case UInt8(ascii: "\\"):
                guard i + 1 < b.count else { return false }
                if b[i + 1] == UInt8(ascii: "u") {
                    guard i + 6 <= b.count, b[(i + 2)..<(i + 6)].allSatisfy(isHex) else { return false }
                    i += 6
                } else {
                    guard Array(#""\/bfnrt"#.utf8).contains(b[i + 1]) else { return false }
                    i += 2
                }
            case 0x00..<0x20: return false
            default: i += 1
            }
        }
        return false
    }

    private static func number(_ b: [UInt8], _ i: inout Int) -> Bool {
        func digits() -> Int {
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            return i - start
        }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, isDigit(b[i]) else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else { _ = digits() }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < b.count, b[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return true
    }

    private static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    private static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (0x61...0x66).contains(c | 0x20) }
}

/// RFC 8785 written from the RFC, apart from `JSONValue.canonicalBytes`:
/// members sorted by their names' UTF-16 code units, strings escaped as
/// ECMAScript's JSON.stringify does, scalar by scalar. Numbers use the
/// product's formatting, which `checkNumberText` holds to ECMA-262 separately.
package enum ReferenceCanonicalWriter {
    package static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    package static func sorted(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        members.sorted { Array($0.key.utf16).lexicographicallyPrecedes(Array($1.key.utf16)) }
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null, .bool, .number: out += value.canonicalBytes
        case .string(let s): string(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in sorted(members).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func string(_ s: String, into out: inout [UInt8]) {
        let named: [Unicode.Scalar: String] = ["\u{8}": "\\b", "\u{9}": "\\t", "\u{A}": "\\n", "\u{C}": "\\f", "\u{D}": "\\r", "\"": "\\\"", "\\": "\\\\"]
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            if let escape = named[scalar] {
                out += Array(escape.utf8)
            } else if scalar.value < 0x20 {
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(scalar.value >> 4)], hex[Int(scalar.value & 0xF)]]
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
