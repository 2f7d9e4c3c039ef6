/// A Bloom filter over tagged string keys (the tag says which kind of key, so
/// a call and a recording with the same id stay apart), of a fixed size whatever is put in it:
/// "certainly never added" or "perhaps added". A rebuild that has written some
/// facts out asks it before looking a key up in PostgreSQL, so the lookups it
/// pays for are (nearly) only those of facts really written before.
///
/// With `bits` = 2^29 (64 MiB) and four probes, one key in a hundred of the
/// 50 millionth added is a false "perhaps": a wasted lookup, never a wrong answer.
struct KeyFilter {
    private var words: [UInt64]
    private let mask: UInt64
    private static let probes = 4

    /// `bits` is rounded up to a power of two, at least 64.
    init(bits: Int) {
        let size = max(64, 1 << (Int.bitWidth - (max(bits, 2) - 1).leadingZeroBitCount))
        words = Array(repeating: 0, count: size / 64)
        mask = UInt64(size - 1)
    }

    mutating func insert(_ key: String, tag: UInt8) {
        var (h1, h2) = Self.hashes(key, tag: tag)
        for _ in 0..<Self.probes {
            let bit = h1 & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
            h1 &+= h2
        }
    }

    func mayContain(_ key: String, tag: UInt8) -> Bool {
        var (h1, h2) = Self.hashes(key, tag: tag)
        for _ in 0..<Self.probes {
            let bit = h1 & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            h1 &+= h2
        }
        return true
    }

    /// Two independent 64-bit hashes (FNV-1a over the tag and the key's bytes,
    /// then a finaliser for the second) combined as h1 + i·h2: as good as k
    /// independent hashes for a Bloom filter. Not Swift's `Hasher`, so a key
    /// always probes the same bits.
    private static func hashes(_ key: String, tag: UInt8) -> (UInt64, UInt64) {
        var hash: UInt64 = (0xcbf2_9ce4_8422_2325 ^ UInt64(tag)) &* 0x100_0000_01b3
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var mixed = hash ^ (hash >> 33)
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        return (hash, mixed | 1)
    }
}
