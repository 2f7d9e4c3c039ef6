@testable import CallAuditVault
import Testing

@Suite("Random pool for new persons")
struct RandomPoolTests {
    @Test("hands out the sizes asked for, across block boundaries, never the same bytes twice")
    func distinctDraws() {
        var pool = RandomPool()
        // 44 bytes a person (a 12-byte ref, a 32-byte key): 1,000 persons span about eleven 4 KiB blocks.
        var seen: Set<[UInt8]> = []
        for _ in 0..<1_000 {
            let ref = pool.take(12)
            let key = pool.take(32)
            #expect(ref.count == 12 && key.count == 32)
            #expect(seen.insert(ref).inserted && seen.insert(key).inserted)
        }
        #expect(pool.take(10_000).count == 10_000, "a draw larger than a block gets a block of its own size")
    }
}
