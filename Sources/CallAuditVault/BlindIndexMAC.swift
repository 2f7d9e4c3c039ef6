/// HMAC-SHA256 under the blind-index key, with the key set up once: its
/// inner and outer pads are hashed when the vault opens, and each identifier
/// starts from a copy of that state. Setting the key up again for every
/// identifier was most of the seal stage's HMAC work (BENCHMARKS.md, issue 21
/// item 3). It holds the index key's hash state, which the vault holds anyway,
/// and no identifier: nothing personal is kept between calls. The keyed state
/// is `HMACSHA256`'s, never updated in place, so the sealer and a DPO's lookup share it safely.
struct BlindIndexMAC: Sendable {
    private let keyed: HMACSHA256

    init(key: [UInt8]) {
        keyed = HMACSHA256(key: key)
    }

    /// The same bytes as `HMAC<SHA256>.authenticationCode(for: input, using: key)`.
    func code(for input: [UInt8]) -> [UInt8] {
        keyed.code(for: input)
    }
}
