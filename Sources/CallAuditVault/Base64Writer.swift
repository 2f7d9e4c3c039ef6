/// Standard base64 (RFC 4648 §4, padded, no line breaks), appended to a
/// sealed subject's bytes: `Data.base64EncodedString()` made a `String` that
/// was then copied in. The same characters as Foundation's (`Base64WriterTests`).
enum Base64Writer {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The encoded length of `count` bytes.
    static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    static func append(_ input: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // Written through a raw buffer of the exact size: `Array.append` per
        // character checked uniqueness and room each time (3.7 k instructions
        // a subject, against Foundation's 1.7 k). The buffer is `out`'s own room
        // (`encodedCount` bytes after its end), not an array of its own that was
        // allocated, copied in and freed for every subject.
        out.append(addingCapacity: encodedCount(input.count)) { room in
            room.withUnsafeMutableBufferPointer { output, written in
                alphabet.withUnsafeBufferPointer { table in written = encode(input, into: output, table: table) }
            }
        }
    }

    /// Writes `input` encoded into `output` (at least `encodedCount(input.count)`
    /// long); returns how many bytes it wrote. Each group of three bytes reads
    /// `index ..< index + 3` only while `index + 3 <= input.count`, and writes
    /// `at ..< at + 4`, with `at / 4 * 3 == index`, so within `output`.
    private static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>) -> Int {
        var index = 0, at = 0
        // The first `count` of a group's four characters, 6 bits each from the top of 24.
        func put(_ group: UInt32, _ count: Int) {
            var shift: UInt32 = 18
            for _ in 0..<count {
                output[at] = table[Int(group >> shift & 63)]
                at += 1
                shift &-= 6
            }
        }
        while index + 3 <= input.count {
            put(UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2]), 4)
            index += 3
        }
        let rest = input.count - index
        // One or two bytes left: their characters, then `=` to a whole group.
        if rest > 0 {
            put(UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0), rest + 1)
            for _ in rest..<3 {
                output[at] = UInt8(ascii: "=")
                at += 1
            }
        }
        return at
    }
}
