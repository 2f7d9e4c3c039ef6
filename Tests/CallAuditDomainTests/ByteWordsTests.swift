import Testing

@testable import CallAuditDomain

/// The word-at-a-time tests the scanner and the COPY encoder skip plain bytes with.
@Suite("Eight bytes at a time")
struct ByteWordsTests {
    private static func bytes(_ word: UInt64) -> [UInt8] { withUnsafeBytes(of: word) { Array($0) } }

    private static func word(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }

    @Test("each test agrees with a byte-by-byte look at one odd byte in every position, and at random words")
    func agreesWithBytes() {
        var random = SystemRandomNumberGenerator()
        var words: [UInt64] = []
        for filler: UInt8 in [0x20, 0x61, 0x7F, 0x80, 0xFF] {
            for position in 0..<8 {
                for odd in 0...255 {
                    var bytes = Array(repeating: filler, count: 8)
                    bytes[position] = UInt8(odd)
                    words.append(Self.word(bytes))
                }
            }
        }
        words += (0..<20_000).map { _ in UInt64.random(in: .min ... .max, using: &random) }
        for word in words {
            let bytes = Self.bytes(word)
            for limit: UInt8 in [1, 0x0E, 0x20, 0x80] {
                #expect(ByteWords.hasByte(below: limit, in: word) == bytes.contains { $0 < limit })
            }
            for byte: UInt8 in [0x00, 0x22, 0x5C, 0x80, 0xFF] {
                #expect(ByteWords.hasByte(byte, in: word) == bytes.contains(byte))
            }
            #expect(ByteWords.hasNonASCII(word) == bytes.contains { $0 >= 0x80 })
        }
    }

    @Test("a string run stops at or before the first quote, backslash or control byte, and notes non-ASCII bytes it passed")
    func stringRun() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...64, using: &random)
            let text = (0..<count).map { _ in
                Int.random(in: 0..<30, using: &random) == 0 ? [0x22, 0x5C, 0x00, 0x1F, 0xC3].randomElement(using: &random)! : UInt8(ascii: "q")
            }
            let start = Int.random(in: 0...count, using: &random)
            var seen: UInt64 = 0
            let end = text.withUnsafeBufferPointer { ByteWords.skipStringRun($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, from: start, count: count, seen: &seen) }
            let stop = text[start...].firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } ?? count
            // It stops only where the next word holds the odd byte, or fewer than eight bytes are left.
            #expect(end >= start && end <= stop && (end + 8 > count || stop < end + 8))
            #expect(ByteWords.hasNonASCII(seen) == text[start..<end].contains { $0 >= 0x80 })
        }
    }
}
