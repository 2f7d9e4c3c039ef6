import Crypto

/// SHA-256 of an event's canonical bytes, its content hash, held inline in
/// the event. As a `[UInt8]` it was one more allocation per event, made on
/// the polling thread and freed on the writer thread once the batch is
/// stored; a `free` from another thread was, natively, among that thread's
/// largest costs (BENCHMARKS.md, issue 21's seventh pass).
package struct ContentHash: Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Hashed where the bytes lie and the digest copied out once:
    /// `Array(SHA256.hash(data:))` walked the digest byte by byte through its
    /// iterator, which builds an array of its own first.
    package static func of(_ bytes: [UInt8]) -> ContentHash {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        var hash = ContentHash()
        hasher.finalize().withUnsafeBytes { digest in
            Swift.withUnsafeMutableBytes(of: &hash.words) { $0.copyMemory(from: digest) }
        }
        return hash
    }

    /// The 32 bytes in place, for a writer that copies them once.
    package func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }

    /// The 32 bytes as an array (one allocation).
    package var bytes: [UInt8] { withUnsafeBytes { [UInt8]($0) } }

    package static func == (lhs: ContentHash, rhs: ContentHash) -> Bool {
        lhs.words == rhs.words
    }
}
