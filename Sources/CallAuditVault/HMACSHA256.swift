import Crypto
#if canImport(Glibc)
import Glibc
#endif

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

    /// The key's inner and outer pads hashed once. The pads are built in one
    /// stack buffer (three arrays on the heap each time were about 2 k
    /// instructions of the 9 k a keying took), wiped after with `explicit_bzero`:
    /// they are the key, and the optimiser drops a plain overwrite of memory that
    /// is never read again (the review found no wipe in the release binary).
    init(key: [UInt8]) {
        let key = key.count > Self.blockSize ? Array(SHA256.hash(data: key)) : key
        var inner = SHA256()
        var outer = SHA256()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.blockSize) { pad in
            // key.count <= blockSize (a longer key was hashed to 32 bytes above): every index is in the pad.
            pad.initialize(repeating: 0x36)
            for (index, byte) in key.enumerated() { pad[index] = byte ^ 0x36 }
            inner.update(bufferPointer: UnsafeRawBufferPointer(pad))
            pad.update(repeating: 0x5c)
            for (index, byte) in key.enumerated() { pad[index] = byte ^ 0x5c }
            outer.update(bufferPointer: UnsafeRawBufferPointer(pad))
            explicit_bzero(pad.baseAddress!, Self.blockSize)  // capacity 64: never nil
        }
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
        // Copied as raw bytes: `Array(digest)` walked the digest as a generic
        // `Sequence` (about 1.9 k instructions per code, per blind index and per nonce).
        digest(feed).withUnsafeBytes { Array($0) }
    }

    /// The same code as swift-crypto's digest, not copied into an array: for a
    /// caller that reads only part of it (a nonce is its first 12 bytes).
    func digest(_ feed: (inout SHA256) -> Void) -> SHA256Digest {
        var inner = inner
        feed(&inner)
        var outer = outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}
