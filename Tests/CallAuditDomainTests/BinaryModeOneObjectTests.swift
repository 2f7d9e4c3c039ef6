import Testing

@testable import CallAuditDomain

/// Binary mode's check that a message's value is exactly one JSON object
/// (`BinaryModeEnvelope.isOneObject`) passes plain runs inside strings a word
/// at a time; it must find the same end of each string as a byte loop does.
@Suite("Binary mode: the value is one object, strings passed a word at a time")
struct BinaryModeOneObjectTests {
    /// The byte loop the word-at-a-time version replaced, kept as the reference.
    private static func byteByByte(_ value: [UInt8]) -> Bool {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = value.firstIndex(where: { !isSpace($0) }), value[first] == UInt8(ascii: "{") else { return false }
        var depth = 0
        var inString = false
        var escaped = false
        for i in first..<value.count {
            let b = value[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return value[(i + 1)...].allSatisfy(isSpace) }
            default: break
            }
        }
        return false
    }

    @Test("the byte loop's verdict on objects with long strings, escapes, brackets inside strings, control and non-ASCII bytes, and random splices")
    func sameVerdictAsByteLoop() {
        let seeds = [
            #"{"call_id":"c1"}"#, #"{"a":"}\"{","b":["x]",{"c":"\\"}]}  "#, #"{"long":"abcdefghijklmnopqrstuvwxyz0123456789 plain text that runs on","n":1}"#,
            #"{"a":"é ü \u00e9 \\\\\\\"quoted\\\" end"} "#, #"{"a":"x"},"id":"y"}"#, #" {"a":"unterminated}"#, #"{"a":"ends in a backslash\"#,
            "{\"ctl\":\"a\tb\nc\u{01}d\"}\n", #"[{"a":1}]"#, "{}", "{", "", "  ", #"{"a":{"b":{"c":"}}}}"}}}"#,
        ]
        var random = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [[0x22], [0x5C], [0x5C, 0x22], [0x7B], [0x7D], [0x5B], [0x5D], [0x20], [0x0A], [0x01], [0xC3, 0xA9], Array("plainrun".utf8)]
        var inputs = seeds.map { Array($0.utf8) }
        for _ in 0..<20_000 {
            var input = inputs[Int.random(in: 0..<seeds.count, using: &random)]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0...input.count, using: &random)
                input.insert(contentsOf: pieces.randomElement(using: &random)!, at: at)
            }
            inputs.append(input)
        }
        for input in inputs {
            #expect(input.withUnsafeBufferPointer(BinaryModeEnvelope.isOneObject) == Self.byteByByte(input), "\(input)")
        }
    }
}
