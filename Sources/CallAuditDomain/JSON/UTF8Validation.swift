/// Well-formed UTF-8 (Unicode §3.9, table 3-7), checked in place: what
/// `String(validating:as:)` accepts, without making a String (which allocates
/// for all but the shortest text) just to learn that the bytes are valid.
enum UTF8Validation {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F  // no surrogates
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F  // nothing past U+10FFFF
            default: return false
            }
            guard index + length <= count else { return false }
            let second = bytes[index + 1]
            guard second >= low && second <= high else { return false }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }

    /// How many code points the valid UTF-8 `bytes` hold: the bytes that do not continue a sequence.
    static func scalarCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Byte equality with a literal: names compared for every member of every
    /// event, where the generic `elementsEqual` over a UTF-8 view was a hot spot.
    func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        return Self.sameBytes(baseAddress, text.utf8Start, count)
    }

    func equals(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { equals($0) }
    }

    func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        return Self.sameBytes(baseAddress, other.baseAddress, count)
    }

    /// `count` bytes at `a` and at `b` compared a word at a time (a byte loop cost about five
    /// instructions a byte, and member names are compared several times each). Every load reads
    /// bytes within `0..<count` of its side: the last word of each size overlaps the one before.
    @inline(__always) private static func sameBytes(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard count > 0, let a, let b else { return true }
        let (left, right) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
        if count >= 8 {
            var offset = 0
            while offset < count - 8 {
                if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
                offset += 8
            }
            return left.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == right.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return left.loadUnaligned(as: UInt32.self) == right.loadUnaligned(as: UInt32.self)
                && left.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == right.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        for offset in 0..<count where a[offset] != b[offset] { return false }
        return true
    }
}
