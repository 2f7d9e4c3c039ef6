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

    @Test("the first quote, backslash or control byte is found exactly, in memory order, whatever lies around it")
    func firstStringSpecial() {
        var random = SystemRandomNumberGenerator()
        var samples: [[UInt8]] = []
        // Every byte value in every position among fillers next to the special ones, and pairs of specials.
        for filler: UInt8 in [0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x61, 0x7F, 0x80, 0xA2, 0xDC, 0xFF] {
            for position in 0..<8 {
                for odd in 0...255 {
                    var bytes = Array(repeating: filler, count: 8)
                    bytes[position] = UInt8(odd)
                    samples.append(bytes)
                }
            }
        }
        samples += (0..<20_000).map { _ in (0..<8).map { _ in [0x00, 0x1F, 0x22, 0x5C, 0x41, 0x80, 0xFF, UInt8.random(in: 0...255, using: &random)].randomElement(using: &random)! } }
        for bytes in samples {
            let expected = bytes.firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } ?? 8
            let found = bytes.withUnsafeBufferPointer { ByteWords.firstStringSpecial(in: ByteWords.loadLittleEndian($0.baseAddress!, 0)) }
            #expect(found == expected, "\(bytes)")
        }
    }

    @Test("byte equality a word at a time: every length to 40, a difference at every position, and equal runs at odd offsets")
    func equality() {
        let source = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
        for count in 0...40 {
            for offset in [0, 1, 7] {
                let left = Array(source[offset..<(offset + count)])
                var variants: [[UInt8]] = [left, left + [0], Array(left.dropLast())]
                for position in 0..<count {
                    var changed = left
                    changed[position] ^= 0x01
                    variants.append(changed)
                }
                for right in variants {
                    let same = left.withUnsafeBufferPointer { l in right.withUnsafeBufferPointer { r in l.equals(r) } }
                    #expect(same == (left == right), "count \(count), offset \(offset)")
                    #expect(left.withUnsafeBufferPointer { $0.equals(right) } == (left == right))
                }
            }
        }
        #expect(Array("subject".utf8).withUnsafeBufferPointer { $0.equals("subject") && !$0.equals("subjects") && !$0.equals("subjecT") })
        #expect([UInt8]().withUnsafeBufferPointer { $0.equals("") })
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
