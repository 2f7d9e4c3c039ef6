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
}
