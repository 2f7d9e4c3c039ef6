/// A blind index (HMAC-SHA256 of a normalised identifier under the index key):
/// what the vault's tables and its cache are keyed by.
///
/// Hashed as one run of bytes. `[UInt8]`'s own `Hashable` feeds the hasher a
/// byte at a time, and every batch hashes each of its identifiers' indexes
/// several times (a set, the cache, the batch's links): about 3 k
/// instructions per sealed event (BENCHMARKS.md, issue 21).
struct BlindIndex: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: BlindIndex, b: BlindIndex) -> Bool { a.bytes == b.bytes }
}
