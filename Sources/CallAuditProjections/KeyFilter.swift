/// A Bloom filter over tagged string keys (the tag says which kind of key, so
/// a call and a recording with the same id stay apart): "certainly never
/// added" or "perhaps added". A rebuild that has written some facts out asks
/// it before looking a key up in PostgreSQL, so the lookups it pays for are
/// (nearly) only those of facts really written before.
///
/// It grows with what is put in it, in stages of 16 bits per key, each twice
/// the one before (a scalable Bloom filter), up to `bits` in all; the last
/// stage then takes every further key, and its false "perhaps" grow (a wasted
/// lookup, never a wrong answer). A filter of a fixed 2^29 bits was resident
/// in full as soon as its keys' probes had touched every page: 64 MiB for a
/// log of a million events, which needs 1 MiB (BENCHMARKS.md, issue 21's
/// twelfth pass). A full stage says "perhaps" of about one key in 400 never
/// added; at the default limit of 2^29 bits, nine stages hold 33 million keys
/// and together say it of about one in 45.
struct KeyFilter {
    private var stages: [BloomStage] = []
    /// Keys put in the last stage.
    private var inLast = 0
    /// The most bits all stages may take, a power of two.
    private let limit: Int
    static let bitsPerKey = 16
    static let firstStageBits = 1 << 20

    /// `bits`, the most the filter grows to, is rounded up to a power of two, at least 64.
    init(bits: Int) {
        limit = max(64, 1 << (Int.bitWidth - (max(bits, 2) - 1).leadingZeroBitCount))
    }

    /// The bits the filter holds now.
    var bitCount: Int { stages.reduce(0) { $0 + $1.bitCount } }

    mutating func insert(_ key: String, tag: UInt8) {
        if stages.isEmpty || inLast * Self.bitsPerKey >= stages[stages.count - 1].bitCount, let next = nextStageBits() {
            stages.append(BloomStage(bits: next))
            inLast = 0
        }
        let (h1, h2) = Self.hashes(key, tag: tag)
        stages[stages.count - 1].insert(h1, h2)
        inLast += 1
    }

    func mayContain(_ key: String, tag: UInt8) -> Bool {
        guard !stages.isEmpty else { return false }
        let (h1, h2) = Self.hashes(key, tag: tag)
        return stages.contains { $0.mayContain(h1, h2) }
    }

    /// The size of a new stage, or nil when it would take the filter past its limit.
    private func nextStageBits() -> Int? {
        guard let last = stages.last else { return min(Self.firstStageBits, limit) }
        return bitCount + 2 * last.bitCount <= limit ? 2 * last.bitCount : nil
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

/// One stage of `KeyFilter`: a Bloom filter of a fixed power-of-two size and four probes.
private struct BloomStage {
    private var words: [UInt64]
    private let mask: UInt64
    private static let probes = 4

    init(bits: Int) {
        words = Array(repeating: 0, count: bits / 64)
        mask = UInt64(bits - 1)
    }

    var bitCount: Int { words.count * 64 }

    mutating func insert(_ h1: UInt64, _ h2: UInt64) {
        var h1 = h1
        for _ in 0..<Self.probes {
            let bit = h1 & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
            h1 &+= h2
        }
    }

    func mayContain(_ h1: UInt64, _ h2: UInt64) -> Bool {
        var h1 = h1
        for _ in 0..<Self.probes {
            let bit = h1 & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            h1 &+= h2
        }
        return true
    }
}
