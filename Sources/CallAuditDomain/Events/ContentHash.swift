import Crypto

/// SHA-256 of an event's canonical bytes, its content hash.
enum ContentHash {
    /// Hashed where the bytes lie and the digest copied out once:
    /// `Array(SHA256.hash(data:))` walked the digest byte by byte through its
    /// iterator, which builds an array of its own first.
    static func of(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { [UInt8]($0) }
    }
}
