/// The lexical steps over a stored event's canonical bytes that both of the
/// fact scanners take (`FactScanner`'s envelope, `JudgedDataScanner`'s
/// `data`). Each is as strict as the tree parser in what it accepts; anything
/// else is `Unsure`, and the caller leaves the event to the tree.
protocol StoredBytesScanning {
    var bytes: UnsafeBufferPointer<UInt8> { get }
    var index: Int { get set }
}

/// The scanner met bytes it does not decide.
struct Unsure: Error {}

extension StoredBytesScanning {
    /// The object at `index`: each member's name, with the scanner at its value
    /// for `body` to read. Each name must come after the one before in RFC
    /// 8785's order (for ASCII names, byte order), so none comes twice.
    mutating func forEachMember(_ body: (inout Self, UnsafeBufferPointer<UInt8>) throws(Unsure) -> Void) throws(Unsure) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") { index += 1; return }
        var previous: UnsafeBufferPointer<UInt8>?
        while true {
            let name = try plainString(asciiOnly: true)
            if let previous, !NameOrder.precedes(previous, name) { throw Unsure() }
            previous = name
            try expect(UInt8(ascii: ":"))
            try body(&self, name)
            if try next(closing: UInt8(ascii: "}")) { return }
        }
    }

    /// After a member or element: true at the closing byte, false at a comma.
    mutating func next(closing: UInt8) throws(Unsure) -> Bool {
        let byte = try peek()
        index += 1
        if byte == closing { return true }
        guard byte == UInt8(ascii: ",") else { throw Unsure() }
        return false
    }

    /// A string without escapes or control bytes, as it stands between its
    /// quotes. The input is a Swift string, so its bytes are valid UTF-8.
    mutating func plainString(asciiOnly: Bool) throws(Unsure) -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Eight bytes at a time up to the word that may hold the closing quote
        // (ids, sources, times and sealed blobs are long runs of plain bytes).
        if let base = bytes.baseAddress {
            var seen: UInt64 = 0
            index = ByteWords.skipStringRun(base, from: index, count: bytes.count, seen: &seen)
            if asciiOnly, ByteWords.hasNonASCII(seen) { throw Unsure() }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
            }
            guard byte >= 0x20, byte != UInt8(ascii: "\\"), !asciiOnly || byte < 0x80 else { throw Unsure() }
            index += 1
        }
        throw Unsure()
    }

    /// `-?(0|[1-9][0-9]*)`, at most 15 digits (so a Double holds it exactly).
    mutating func skipInteger() throws(Unsure) {
        if try peek() == UInt8(ascii: "-") { index += 1 }
        let start = index
        skipDigits()
        let count = index - start
        guard count >= 1, count <= 15, count == 1 || bytes[start] != UInt8(ascii: "0") else { throw Unsure() }
    }

    mutating func skipDigits() {
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
    }

    mutating func literal(_ text: StaticString) throws(Unsure) {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Unsure() }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { throw Unsure() }
        index += count
    }

    func peek() throws(Unsure) -> UInt8 {
        guard index < bytes.count else { throw Unsure() }
        return bytes[index]
    }

    mutating func expect(_ byte: UInt8) throws(Unsure) {
        guard try peek() == byte else { throw Unsure() }
        index += 1
    }
}
