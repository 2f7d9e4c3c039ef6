import Crypto

/// HMAC-SHA256 (RFC 2104) built on swift-crypto's SHA-256, fed through
/// `update(bufferPointer:)`. swift-crypto's own `HMAC<SHA256>` spent about 14 k
/// instructions setting a key up and 5–7 k more in each generic update and
/// finalise (its `DataProtocol` paths), per subject sealed: more than the
/// AES-GCM seal itself (BENCHMARKS.md, issue 21 item 3). The same bytes:
/// `HMACSHA256Tests` holds it to `HMAC<SHA256>` for keys shorter, as long as
/// and longer than a block, and for inputs in parts.
///
/// `@unchecked Sendable`: the keyed states are never updated in place. Each
/// code starts from copies, and swift-crypto's digests copy a shared context
/// before updating it (and finalise from a copy).
struct HMACSHA256: @unchecked Sendable {
    private static let blockSize = 64
    private let inner: SHA256
    private let outer: SHA256

    /// The key's inner and outer pads hashed once.
    init(key: [UInt8]) {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        if key.count > Self.blockSize {
            block.replaceSubrange(0..<SHA256.byteCount, with: Array(SHA256.hash(data: key)))
        } else {
            block.replaceSubrange(0..<key.count, with: key)
        }
        var inner = SHA256()
        var outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// The code of the parts' concatenation, without concatenating them.
    func code(for parts: [UInt8]...) -> [UInt8] {
        code { inner in
            for part in parts { part.withUnsafeBytes { inner.update(bufferPointer: $0) } }
        }
    }

    /// The code of what `feed` hashes into the keyed inner state: parts that are
    /// slices of larger buffers (a subject inside its event) go in uncopied.
    func code(_ feed: (inout SHA256) -> Void) -> [UInt8] {
        var inner = inner
        feed(&inner)
        var outer = outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return Array(outer.finalize())
    }
}
