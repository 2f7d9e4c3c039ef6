@testable import CallAuditProjections
import Testing

@Suite("Key filter of a chunked rebuild")
struct KeyFilterTests {
    @Test("every key added is 'perhaps'; of keys never added, about as few as a Bloom filter of that size promises")
    func noFalseNegativesAndFewFalsePositives() {
        var filter = KeyFilter(bits: 1 << 20)
        let added = (0..<100_000).map { "00000000-call-\($0)" }
        for key in added { filter.insert(key, tag: UInt8(ascii: "c")) }
        #expect(added.allSatisfy { filter.mayContain($0, tag: UInt8(ascii: "c")) })
        // 10.5 bits per key and four probes: (1 - e^(-4/10.5))^4 ≈ 1 % false "perhaps".
        let falsePositives = (0..<100_000).filter { filter.mayContain("00000000-recording-\($0)", tag: UInt8(ascii: "r")) }.count
        #expect(falsePositives < 2_000, "false positive rate \(Double(falsePositives) / 1_000) %")
    }

    @Test("an empty filter rules everything out; a filter rounds its size up to a power of two")
    func emptyAndTiny() {
        let empty = KeyFilter(bits: 1_000)
        #expect(!empty.mayContain("1", tag: UInt8(ascii: "c")) && !empty.mayContain("", tag: 0))
        var tiny = KeyFilter(bits: 1)
        tiny.insert("hold-1", tag: UInt8(ascii: "h"))
        #expect(tiny.mayContain("hold-1", tag: UInt8(ascii: "h")))
    }

    @Test("the filter grows with its keys, a stage at a time, and its false 'perhaps' stay rare across the stages")
    func growsWithItsKeys() {
        var filter = KeyFilter(bits: 1 << 29)
        #expect(filter.bitCount == 0)
        filter.insert("call-0", tag: UInt8(ascii: "c"))
        #expect(filter.bitCount == 1 << 20, "one stage of 2^20 bits, not the 2^29 the filter may grow to")
        let added = (1..<300_000).map { "00000000-call-\($0)" }
        for key in added { filter.insert(key, tag: UInt8(ascii: "c")) }
        // 65,536 + 131,072 + 262,144 keys at 16 bits a key: three stages, under a MiB.
        #expect(filter.bitCount == (1 << 20) + (1 << 21) + (1 << 22))
        #expect(added.allSatisfy { filter.mayContain($0, tag: UInt8(ascii: "c")) })
        // A full stage: (1 - e^(-4/16))^4 ≈ 0.24 %; three stages, at most about 0.7 %.
        let falsePositives = (0..<100_000).filter { filter.mayContain("00000000-recording-\($0)", tag: UInt8(ascii: "r")) }.count
        #expect(falsePositives < 1_000, "false positive rate \(Double(falsePositives) / 1_000) %")
    }

    @Test("at its limit the filter stops growing and its last stage takes every further key")
    func stopsAtItsLimit() {
        var filter = KeyFilter(bits: 3 << 20)
        let added = (0..<400_000).map { "hold-\($0)" }
        for key in added { filter.insert(key, tag: UInt8(ascii: "h")) }
        #expect(filter.bitCount == 3 << 20, "2^20 + 2^21 bits, not a third stage past the limit")
        #expect(added.allSatisfy { filter.mayContain($0, tag: UInt8(ascii: "h")) })
    }
}
