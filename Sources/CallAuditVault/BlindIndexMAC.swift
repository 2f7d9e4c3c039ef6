import Crypto

/// HMAC-SHA256 under the blind-index key, with the key set up once: its
/// inner and outer pads are hashed when the vault opens, and each identifier
/// starts from a copy of that state. Setting the key up again for every
/// identifier was most of the seal stage's HMAC work (BENCHMARKS.md, issue 21
/// item 3). It holds the index key's hash state, which the vault holds anyway,
/// and no identifier: nothing personal is kept between calls.
///
/// `@unchecked Sendable`: the keyed state is never mutated in place. Each use
/// works on a copy, and swift-crypto's digests copy a shared context before
/// updating it (and finalize from a copy), so threads never write the same state.
struct BlindIndexMAC: @unchecked Sendable {
    private let keyed: HMAC<SHA256>

    init(key: [UInt8]) {
        keyed = HMAC(key: SymmetricKey(data: key))
    }

    /// The same bytes as `HMAC<SHA256>.authenticationCode(for: input, using: key)`.
    func code(for input: [UInt8]) -> [UInt8] {
        var mac = keyed
        mac.update(data: input)
        return Array(mac.finalize())
    }
}
