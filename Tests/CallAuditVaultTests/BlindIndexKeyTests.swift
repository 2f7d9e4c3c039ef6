@testable import CallAuditVault
import Testing

@Suite("Blind indexes as table keys")
struct BlindIndexKeyTests {
    @Test("equal bytes are one key, hashed alike; different bytes, or a prefix, are another")
    func keys() {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        var table: [BlindIndex: Int] = [BlindIndex(bytes): 1]
        #expect(table[BlindIndex(Array(bytes))] == 1)
        #expect(BlindIndex(bytes).hashValue == BlindIndex(Array(bytes)).hashValue)
        var other = bytes
        other[31] ^= 1
        #expect(table[BlindIndex(other)] == nil && table[BlindIndex(Array(bytes.prefix(31)))] == nil)
        table[BlindIndex(other)] = 2
        #expect(table.count == 2 && Set([BlindIndex(bytes), BlindIndex(bytes), BlindIndex(other)]).count == 2)
    }
}
