import CallAuditDomain

/// A new person's pseudonym: `sub_` and the lowercase hex of 12 random bytes.
enum SubjectRef {
    static let randomByteCount = 12

    /// A fresh pseudonym from the batch's pool.
    static func random(from pool: inout RandomPool) -> String {
        ref(for: pool.take(randomByteCount))
    }

    /// Written into one buffer of its size: `"sub_" + hexString` made two
    /// strings and joined them (about 1.8 k instructions per new person).
    static func ref(for random: [UInt8]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + 2 * random.count)
        bytes.append(contentsOf: "sub_".utf8)
        random.writeHex(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
