/// RFC 8785 (JSON Canonicalization Scheme) serialization.
///
/// The event store keeps every event in this form, so the same event hashes
/// the same whether it arrived in structured or binary mode, and anyone can
/// recompute a content hash without knowing how the producer formatted it.
extension JSONValue {
    package var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        writeCanonical(into: &out)
        return out
    }

    package var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// Compact JSON with object members in their stored order: for documents
    /// this program writes and reads back itself, where sorting buys nothing.
    package var compactBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(into: &out, sortingMembers: false)
        return out
    }

    package func writeCanonical(into out: inout [UInt8]) { write(into: &out, sortingMembers: true) }

    private func write(into out: inout [UInt8], sortingMembers: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: JSONValue.ecmaScriptString(n).utf8)
        case .string(let s): JSONValue.writeCanonicalString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out, sortingMembers: sortingMembers)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
            let ordered = sortingMembers ? JSONValue.canonicalOrder(members) : members
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeCanonicalString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out, sortingMembers: sortingMembers)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Members in RFC 8785 order (§3.2.3: by the UTF-16 code units of their names).
    package static func canonicalOrder(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        // Most objects arrive sorted already (every document this program writes).
        if zip(members, members.dropFirst()).allSatisfy({ precedesInUTF16($0.key, $1.key) }) { return members }
        return members.sorted { precedesInUTF16($0.key, $1.key) }
    }

    /// UTF-16 order, compared on the UTF-8 bytes: the two agree except where a
    /// character at or above U+10000 meets one in U+E000–U+FFFF (their lead
    /// bytes are both 0xEE or above), which is then compared in UTF-16.
    package static func precedesInUTF16(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        let order: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                for index in 0..<min(x.count, y.count) where x[index] != y[index] {
                    return x[index] >= 0xEE && y[index] >= 0xEE ? nil : x[index] < y[index]
                }
                return x.count < y.count
            }
        }
        return order ?? a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    package static func writeCanonicalString(_ string: String, into out: inout [UInt8]) {
        var string = string
        // Native strings are contiguous UTF-8: work on the buffer, not the view.
        string.withUTF8 { writeCanonicalString(utf8: $0, into: &out) }
    }

    /// Generic over where the bytes go: the tree writes an `[UInt8]`, the one-pass scanner its `OutputBytes`.
    static func writeCanonicalString<Sink: CanonicalByteSink>(utf8: UnsafeBufferPointer<UInt8>, into out: inout Sink) {
        out.writeByte(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them whole.
        if utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            out.writeBytes(utf8)
            out.writeByte(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case 0x22: out.writeEscape(0x22)
            case 0x5C: out.writeEscape(0x5C)
            case 0x08: out.writeEscape(UInt8(ascii: "b"))
            case 0x0C: out.writeEscape(UInt8(ascii: "f"))
            case 0x0A: out.writeEscape(UInt8(ascii: "n"))
            case 0x0D: out.writeEscape(UInt8(ascii: "r"))
            case 0x09: out.writeEscape(UInt8(ascii: "t"))
            case 0x00..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.writeEscape(UInt8(ascii: "u"))
                out.writeByte(UInt8(ascii: "0"))
                out.writeByte(UInt8(ascii: "0"))
                out.writeByte(hex.utf8Start[Int(byte >> 4)])
                out.writeByte(hex.utf8Start[Int(byte & 0x0F)])
            default: out.writeByte(byte)
            }
        }
        out.writeByte(UInt8(ascii: "\""))
    }

    /// ECMAScript Number::toString (ECMA-262 §7.1.12.1), as RFC 8785 §3.2.2.3 requires.
    /// Swift's `description` already yields the shortest round-tripping digits;
    /// only the layout of those digits differs.
    static func ecmaScriptString(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value < 0 { return "-" + ecmaScriptString(-value) }
        let (digits, n) = decimalDigits(of: value)
        let k = digits.count
        if k <= n && n <= 21 {
            return digits + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            let split = digits.index(digits.startIndex, offsetBy: n)
            return digits[..<split] + "." + digits[split...]
        }
        if -6 < n && n <= 0 {
            return "0." + String(repeating: "0", count: -n) + digits
        }
        let exponent = n - 1
        let sign = exponent < 0 ? "-" : "+"
        let mantissa = k == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        return mantissa + "e" + sign + String(abs(exponent))
    }

    /// The shortest digit string `s` and exponent `n` with value = 0.s × 10^n.
    private static func decimalDigits(of value: Double) -> (String, Int) {
        let text = value.description  // e.g. "123.45", "1e-07", "1.5e+300"
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...])!
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fractionPart = parts.count > 1 ? String(parts[1]) : ""
        var all = integerPart + fractionPart
        var pointPosition = integerPart.count + exponent
        while all.hasPrefix("0") && all.count > 1 {
            all.removeFirst()
            pointPosition -= 1
        }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (all, pointPosition)
    }
}

/// An object's canonical bytes from members some of which are already
/// encoded: large documents (a month's report) write their big arrays
/// straight to bytes instead of building a value tree to sort and walk.
package enum CanonicalObject {
    package enum Member {
        case value(JSONValue)
        /// Canonical JSON bytes of the value, written as they are.
        case encoded([UInt8])
    }

    package static func bytes(_ members: [(key: String, value: Member)]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(members.reduce(2) { size, member in
            if case .encoded(let bytes) = member.value { return size + bytes.count + 64 }
            return size + 256
        })
        for (index, member) in members.sorted(by: { JSONValue.precedesInUTF16($0.key, $1.key) }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeCanonicalString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            switch member.value {
            case .value(let value): value.writeCanonical(into: &out)
            case .encoded(let bytes): out.append(contentsOf: bytes)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
