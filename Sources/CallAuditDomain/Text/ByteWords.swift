/// Eight bytes tested at once (SWAR), so loops over text skip runs of
/// ordinary bytes a word at a time and stop only near a byte that matters.
/// Each test is exact about whether *some* byte of the word qualifies (the
/// borrow trick can only mark bytes above the first qualifying one), which is
/// all a skip needs: the byte loop after it finds which one.
package enum ByteWords {
    @inline(__always) static func repeating(_ byte: UInt8) -> UInt64 { 0x0101_0101_0101_0101 &* UInt64(byte) }

    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether some byte of `word` is below `limit` (at most 0x80).
    @inline(__always) package static func hasByte(below limit: UInt8, in word: UInt64) -> Bool {
        (word &- repeating(limit)) & ~word & highBits != 0
    }

    /// Whether some byte of `word` is `byte`.
    @inline(__always) package static func hasByte(_ byte: UInt8, in word: UInt64) -> Bool {
        hasByte(below: 1, in: word ^ repeating(byte))
    }

    /// An ASCII upper-case letter lowered; any other byte as it is.
    @inline(__always) package static func lowercasedASCII(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Whether some byte of `word` is 0x80 or above (not ASCII).
    @inline(__always) package static func hasNonASCII(_ word: UInt64) -> Bool { word & highBits != 0 }

    /// The eight bytes at `offset`, in memory order (byte 0 lowest on little-endian; the tests do not care which).
    @inline(__always) package static func load(_ base: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)
    }

    /// The eight bytes at `offset` with the first in memory in the lowest bits, on any platform:
    /// what `firstStringSpecial` needs to count bytes from the low end.
    @inline(__always) package static func loadLittleEndian(_ base: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: load(base, offset))
    }

    /// How many bytes of `word` (loaded little-endian) come before its first quote, backslash or
    /// control byte (below 0x20); 8 when it holds none. Exact, not a "may be": each of the three
    /// tests can only mark a byte wrongly above a byte it marks rightly (the borrow runs upwards),
    /// so the lowest byte any of them marks is a right mark.
    @inline(__always) package static func firstStringSpecial(in word: UInt64) -> Int {
        let quote = word ^ repeating(0x22)
        let backslash = word ^ repeating(0x5C)
        let marks = ((word &- repeating(0x20)) & ~word | (quote &- repeating(1)) & ~quote | (backslash &- repeating(1)) & ~backslash) & highBits
        return marks.trailingZeroBitCount / 8
    }

    /// Where the first byte at or after `start` that is a quote, a backslash
    /// or a control byte (below 0x20) may be: every byte before the returned
    /// offset is none of those. ORs every byte it passes into `seen`, so the
    /// caller learns whether the run held non-ASCII bytes.
    @inline(__always) package static func skipStringRun(_ base: UnsafePointer<UInt8>, from start: Int, count: Int, seen: inout UInt64) -> Int {
        var at = start
        while at + 8 <= count {
            let word = load(base, at)
            if hasByte(below: 0x20, in: word) || hasByte(0x22, in: word) || hasByte(0x5C, in: word) { break }
            seen |= word
            at += 8
        }
        return at
    }
}
