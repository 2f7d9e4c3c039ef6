import Testing

@testable import CallAuditDomain

/// Binary mode's "exactly one object" check now passes over plain string
/// bytes a word at a time: held to the byte-at-a-time check it replaced.
@Suite("Binary mode's value: one object, string runs skipped by words")
struct BinaryModeObjectTests {
    /// The check as it was, byte by byte.
    private static func reference(_ value: [UInt8]) -> Bool {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = value.firstIndex(where: { !isSpace($0) }), value[first] == UInt8(ascii: "{") else { return false }
        var (depth, inString, escaped) = (0, false, false)
        for i in first..<value.count {
            let b = value[i]
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return value[(i + 1)...].allSatisfy(isSpace) }
            default: break
            }
        }
        return false
    }

    @Test("hand-picked values and random mutations of them agree with the byte-at-a-time check")
    func agreesWithReference() {
        let seeds = [
            #"{"a":"long plain text past a word or two","b":[1,2,{"c":"\"}{"}]}"#, #"{},"id":"x""#, #"{"a":"}"}  "#,
            #" {"a":"x\\"} "#, #"{"a":"\\\"}\\"}"#, #"{"a":"é日本語 and more plain bytes here"}"#, "{\"a\":\"tab\there\"}", #"{"a":"unterminated"#,
            "[]", "", "{",
        ].map { Array($0.utf8) }
        var random = SystemRandomNumberGenerator()
        var inputs = seeds
        for _ in 0..<20_000 {
            var input = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...3, using: &random) where !input.isEmpty {
                let at = Int.random(in: 0..<input.count, using: &random)
                input[at] = [0x22, 0x5C, 0x7B, 0x7D, 0x20, 0x00, 0x61, 0xC3].randomElement(using: &random)!
            }
            inputs.append(input)
        }
        for input in inputs {
            #expect(input.withUnsafeBufferPointer(BinaryModeEnvelope.isOneObject) == Self.reference(input), "\(input)")
        }
    }
}
