@testable import CallAuditProjections
import Testing

@Suite("Key filter of a chunked rebuild")
struct KeyFilterTests {
    @Test("every key added is 'perhaps'; of keys never added, about as few as a Bloom filter of that size promises")
    func noFalseNegativesAndFewFalsePositives() {
        var filter = KeyFilter(bits: 1 << 20)
        let added = (0..<100_000).map { "c00000000-call-\($0)" }
        for key in added { filter.insert(key) }
        #expect(added.allSatisfy { filter.mayContain($0) })
        // 10.5 bits per key and four probes: (1 - e^(-4/10.5))^4 ≈ 1 % false "perhaps".
        let falsePositives = (0..<100_000).filter { filter.mayContain("r00000000-recording-\($0)") }.count
        #expect(falsePositives < 2_000, "false positive rate \(Double(falsePositives) / 1_000) %")
    }

    @Test("an empty filter rules everything out; a filter rounds its size up to a power of two")
    func emptyAndTiny() {
        let empty = KeyFilter(bits: 1_000)
        #expect(!empty.mayContain("c1") && !empty.mayContain(""))
        var tiny = KeyFilter(bits: 1)
        tiny.insert("h-hold-1")
        #expect(tiny.mayContain("h-hold-1"))
    }
}
