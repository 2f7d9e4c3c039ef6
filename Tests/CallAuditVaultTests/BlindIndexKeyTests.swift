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

    @Test("hashed by the first 8 bytes alone (an HMAC's), still told apart by all of them; shorter indexes hash whole")
    func hashedByFirstWord() {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        var tail = bytes
        tail[8] ^= 1
        tail[31] ^= 0x80
        #expect(BlindIndex(bytes).hashValue == BlindIndex(tail).hashValue, "only the first word is hashed")
        var head = bytes
        head[7] ^= 1
        #expect(BlindIndex(bytes).hashValue != BlindIndex(head).hashValue)
        let table: [BlindIndex: Int] = [BlindIndex(bytes): 1, BlindIndex(tail): 2, BlindIndex(head): 3]
        #expect(table.count == 3 && table[BlindIndex(tail)] == 2 && table[BlindIndex(Array(bytes))] == 1)
        let short: Set<BlindIndex> = [BlindIndex([1, 2, 3]), BlindIndex([1, 2, 3]), BlindIndex([1, 2, 4]), BlindIndex([])]
        #expect(short.count == 3 && short.contains(BlindIndex([1, 2, 4])))
    }
}
