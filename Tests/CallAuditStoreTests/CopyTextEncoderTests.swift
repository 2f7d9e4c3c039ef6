import CallAuditDomain
import Foundation
import Testing

@testable import CallAuditStore

/// The COPY text encoder skips plain bytes a word at a time and writes
/// integers and hex digits without a String: held here to the byte-at-a-time
/// encoder it replaced (kept below as the reference).
@Suite("COPY text encoding, word at a time")
struct CopyTextEncoderTests {
    /// The escaping the encoder did before, byte by byte.
    private static func referenceEscape(_ source: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for byte in source {
            switch byte {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            default: out.append(byte)
            }
        }
        return out
    }

    private static func encoded(_ body: (inout CopyTextEncoder) -> Void) -> [UInt8] {
        var encoder = CopyTextEncoder(capacity: 16)
        body(&encoder)
        return encoder.bytes
    }

    @Test("every special byte at every offset of texts up to 40 bytes, as bytes and as Strings")
    func specialsAtEveryOffset() {
        let specials: [UInt8] = [0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x0B, 0x0C, 0x0E, 0x1F, 0x22, 0x7F, 0x80, 0xFF]
        for length in 0...40 {
            for offset in 0..<max(length, 1) {
                for special in specials {
                    var text = Array(repeating: UInt8(ascii: "a"), count: length)
                    if length > 0 { text[offset] = special }
                    #expect(Self.encoded { $0.text(bytes: text) } == Self.referenceEscape(text), "length \(length) offset \(offset) byte \(special)")
                }
            }
        }
    }

    @Test("random texts, dense and sparse in special bytes")
    func randomTexts() {
        var random = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            let length = Int.random(in: 0...300, using: &random)
            let text = (0..<length).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &random)
                    : (Int.random(in: 0..<40, using: &random) == 0 ? [0x5C, 0x0A, 0x0D, 0x09].randomElement(using: &random)! : UInt8(ascii: "x"))
            }
            #expect(Self.encoded { $0.text(bytes: text) } == Self.referenceEscape(text))
            let string = String(decoding: text, as: UTF8.self)
            #expect(Self.encoded { $0.text(string) } == Self.referenceEscape(Array(string.utf8)))
        }
    }

    @Test("integers as String(value) wrote them, at the edges of each width")
    func integers() {
        let values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12_345, -98_765, .max, .min, .max - 1, .min + 1]
        for value in values {
            #expect(Self.encoded { $0.integer(value) } == Array(String(value).utf8))
        }
        #expect(Self.encoded { $0.integer(Int32.min) } == Array("-2147483648".utf8))
        #expect(Self.encoded { $0.integer(UInt64.max) } == Array("18446744073709551615".utf8))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let value = Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...63, using: &random)
            #expect(Self.encoded { $0.integer(value) } == Array(String(value).utf8))
        }
    }

    @Test("a row: fields separated by tabs, NULL as \\N, bytea as \\\\x and lower-case hex, a newline at its end")
    func row() {
        let bytes = Self.encoded { encoder in
            encoder.text("a\tb")
            encoder.null()
            encoder.bytea([0x00, 0x0F, 0xA0, 0xFF, 0x5C])
            encoder.integer(-42)
            encoder.endRow()
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "a\\tb\t\\N\t\\\\x000fa0ff5c\t-42\n")
    }

    @Test("hex digits of every byte value, as the digit table wrote them")
    func hex() {
        let all = (0...255).map(UInt8.init)
        #expect(all.hexString == all.map { String(format: "%02x", $0) }.joined())
        #expect([UInt8]().hexString == "")
    }
}
