#if canImport(Glibc)
import Glibc
#endif

/// An id used as a key, compared, hashed and ordered by its UTF-8 bytes.
///
/// `String` compares and hashes by canonical equivalence: "é" as one code point
/// and "e" + U+0301 are one key to it. The log, PostgreSQL's `text` and the
/// request desk compare bytes, so for them these are two calls, two recordings,
/// two requests. A fold keyed by `String` merged them where the tables kept them
/// apart, and a rebuild (both spellings in one fold) then disagreed with the
/// batches that had folded them apart. Read models key their facts by this.
package struct ExactKey: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    package let text: String

    package init(_ text: String) { self.text = text }
    package init(stringLiteral text: String) { self.text = text }

    package var description: String { text }

    package static func == (a: ExactKey, b: ExactKey) -> Bool {
        a.text.utf8.count == b.text.utf8.count && a.withBytes { x in b.withBytes { y in x.equals(y) } }
    }

    package func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        // A terminator, as `String` has: in a pair of keys, ("a", "bc") and ("ab", "c") hash apart.
        hasher.combine(0xFF as UInt8)
    }

    /// Byte order: what PostgreSQL's "C" collation and a B-tree over bytes give.
    package static func < (a: ExactKey, b: ExactKey) -> Bool {
        a.withBytes { x in
            b.withBytes { y in
                guard let left = x.baseAddress, let right = y.baseAddress else { return x.count < y.count }
                let common = memcmp(left, right, min(x.count, y.count))
                return common != 0 ? common < 0 : x.count < y.count
            }
        }
    }

    private func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }
}

extension String {
    /// This id as a key compared by its bytes.
    package var exactKey: ExactKey { ExactKey(self) }

    /// Whether `other` is this id, byte for byte (`==` is canonical equivalence).
    package func isExactly(_ other: String?) -> Bool { other.map { utf8.elementsEqual($0.utf8) } ?? false }
}
