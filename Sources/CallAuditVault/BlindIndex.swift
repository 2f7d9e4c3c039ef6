/// A blind index (HMAC-SHA256 of a normalised identifier under the index key):
/// what the vault's tables and its cache are keyed by.
///
/// Hashed by its first 8 bytes as one word. `[UInt8]`'s own `Hashable` fed the
/// hasher a byte at a time, and every batch hashes each of its identifiers'
/// indexes several times (a set, the cache, the batch's links): about 3 k
/// instructions per sealed event (BENCHMARKS.md, issue 21). All 32 bytes as
/// one run were still about 190 instructions a hash; one word is a quarter of
/// that. The index is an HMAC under a key nobody outside holds, so its first
/// 8 bytes are as unpredictable as the rest: nobody can choose identifiers
/// whose indexes collide there (and `Hasher` is seeded per process besides).
/// Equality still compares every byte.
struct BlindIndex: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { raw in
            // `loadUnaligned` reads raw[0..<8], inside `raw` when it holds 8 bytes or more
            // (a stored index always holds 32; a shorter one is hashed whole).
            if raw.count >= 8 {
                hasher.combine(raw.loadUnaligned(as: UInt64.self))
            } else {
                hasher.combine(bytes: raw)
            }
        }
    }

    static func == (a: BlindIndex, b: BlindIndex) -> Bool { a.bytes == b.bytes }
}
