/// A message's headers in one allocation: each header a record in one byte buffer. As an array of
/// `(String, [UInt8]?)` a message cost an array and one more per header value to make on the polling
/// thread, and about 420 instructions per header to destroy on the writer thread (the runtime's generic
/// tuple witness); this is one buffer of bytes, freed whole.
///
/// Names are bytes as the producer sent them. Read as a collection, each header is `(key, value)` with
/// the name as text (a name that is not UTF-8 has its bad bytes replaced, as `String(cString:)` did):
/// that is for dead letters, the reference decoder and tests. The one-pass decoder reads `entries`.
package struct MessageHeaders: Sendable {
    /// Where one header's name and value lie in `bytes`; `value` is nil for a header without one.
    package struct Entry: Sendable, Equatable {
        package var name: Range<Int>
        package var value: Range<Int>?
    }

    /// Each header as a record: its name's length and its value's (`noValue` for none), each a native
    /// `UInt32`, then the name's bytes and the value's. Lengths fit: librdkafka caps a message below 2 GiB.
    package private(set) var bytes: [UInt8] = []
    /// How many headers.
    package private(set) var count = 0
    /// False when some name is not UTF-8.
    package private(set) var namesAreUTF8 = true

    static let recordHead = 2 * MemoryLayout<UInt32>.size
    static let noValue = UInt32.max

    package init() {}

    /// Headers with text names (always UTF-8), in order.
    package init(_ headers: [(key: String, value: [UInt8]?)]) {
        reserve(headers: headers.count, bytes: headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) })
        for (key, value) in headers {
            let name = Array(key.utf8)
            name.withUnsafeBytes { name in
                guard let value else { return append(name: name, value: nil) }
                value.withUnsafeBytes { append(name: name, value: $0) }
            }
        }
    }

    /// Room for `headers` headers whose names and values hold `bytes` bytes, so appending them allocates once.
    package mutating func reserve(headers: Int, bytes count: Int) {
        bytes.reserveCapacity(headers * Self.recordHead + count)
    }

    /// Appends a header; the bytes are copied.
    package mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        precondition(name.count < Int(Self.noValue) && (value?.count ?? 0) < Int(Self.noValue), "a header past 4 GiB")
        Self.appendLength(name.count, to: &bytes)
        Self.appendLength(value.map(\.count), to: &bytes)
        bytes.append(contentsOf: name)
        if let value { bytes.append(contentsOf: value) }
        count += 1
        // ASCII is checked first: validating needs a String, which only a name with a high byte pays for.
        if namesAreUTF8, name.contains(where: { $0 >= 0x80 }) {
            namesAreUTF8 = String(validating: name, as: UTF8.self) != nil
        }
    }

    private static func appendLength(_ length: Int?, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: length.map { UInt32($0) } ?? noValue) { bytes.append(contentsOf: $0) }
    }

    /// The size the reference's limit counts: each name's text (as `key.utf8.count`) and each value.
    /// With UTF-8 names that is exactly the bytes of the names and values; a repaired name may be longer.
    package var textByteCount: Int {
        namesAreUTF8 ? bytes.count - count * Self.recordHead : reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
    }

    /// Each header's name and value as ranges of `bytes`, in order, read from the records as they are walked.
    package var entries: Entries { Entries(bytes: bytes) }

    package struct Entries: Sequence, IteratorProtocol {
        let bytes: [UInt8]
        var at = 0

        /// The record at `at`, and `at` moved past it. A record's lengths were written by `append`, so
        /// its name and value lie inside `bytes`.
        package mutating func next() -> Entry? {
            guard at < bytes.count else { return nil }
            let (name, value) = bytes.withUnsafeBytes {
                ($0.loadUnaligned(fromByteOffset: at, as: UInt32.self), $0.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
            }
            let nameStart = at + MessageHeaders.recordHead
            let valueStart = nameStart + Int(name)
            let end = value == MessageHeaders.noValue ? valueStart : valueStart + Int(value)
            at = end
            return Entry(name: nameStart..<valueStart, value: value == MessageHeaders.noValue ? nil : valueStart..<end)
        }
    }

    /// The value's bytes of the last header whose name, lowercased, is `name` (nil if there is none, or it
    /// has no value), compared as bytes when the header's name is ASCII: the same answer as
    /// `key.lowercased() == name` on its text (`IncomingMessage.lowercased(_:equals:)`).
    package func lastValue(lowercasedName name: String) -> Range<Int>? {
        var name = name
        return name.withUTF8 { name in
            bytes.withUnsafeBufferPointer { all in
                var found: Range<Int>??
                for entry in entries where Self.lowercased(UnsafeBufferPointer(rebasing: all[entry.name]), equals: name) {
                    found = .some(entry.value)
                }
                return found ?? nil
            }
        }
    }

    /// `String(decoding: key, as: UTF8.self).lowercased() == name`, a byte comparison when both are ASCII.
    static func lowercased(_ key: UnsafeBufferPointer<UInt8>, equals name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !key.contains(where: { $0 >= 0x80 }), !name.contains(where: { $0 >= 0x80 }) else {
            return String(decoding: key, as: UTF8.self).lowercased() == String(decoding: name, as: UTF8.self)
        }
        guard key.count == name.count else { return false }
        for index in 0..<key.count where ByteWords.lowercasedASCII(key[index]) != name[index] { return false }
        return true
    }

    /// Every name's bytes, in order, when some name is not UTF-8; nil otherwise (the usual case).
    package var rawNames: [[UInt8]]? {
        namesAreUTF8 ? nil : entries.map { Array(bytes[$0.name]) }
    }
}

extension MessageHeaders: Collection {
    /// A header's place: the offset of its record in `bytes`.
    package var startIndex: Int { 0 }
    package var endIndex: Int { bytes.count }

    package func index(after i: Int) -> Int {
        var walk = Entries(bytes: bytes, at: i)
        _ = walk.next()
        return walk.at
    }

    /// The header as text and an array: it allocates, so the per-message paths read `entries`.
    package subscript(position: Int) -> (key: String, value: [UInt8]?) {
        var walk = Entries(bytes: bytes, at: position)
        let entry = walk.next()!
        return (key: String(decoding: bytes[entry.name], as: UTF8.self), value: entry.value.map { Array(bytes[$0]) })
    }
}
