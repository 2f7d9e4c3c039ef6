@testable import CallAuditVault
import Glibc
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

    /// swift-crypto's `SymmetricKey(size:)` made 512 `getrandom` calls for a 4 KiB block (about
    /// 180 µs of CPU); one call takes about 10 µs. The least of several tries, in this thread's CPU
    /// time, so a loaded machine does not fail it.
    @Test("a 4 KiB block is drawn in one system call, not one per 8 bytes")
    func oneSystemCallPerBlock() {
        var least = UInt64.max
        for _ in 0..<20 {
            let started = threadCPU()
            #expect(randomBytes(4_096).count == 4_096)
            least = min(least, threadCPU() - started)
        }
        #expect(least < 80_000, "least CPU for a 4 KiB block: \(least) ns")
        #expect(randomBytes(0).isEmpty)
        #expect(Set((0..<100).map { _ in randomBytes(16) }).count == 100)
    }

    private func threadCPU() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
