/// Standard base64 (RFC 4648 §4, padded, no line breaks), appended straight
/// to a sealed subject's bytes: `Data.base64EncodedString()` made a `String`
/// that was then copied in (about 1.7 k instructions a subject). The same
/// characters as Foundation's (`Base64WriterTests`).
enum Base64Writer {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The encoded length of `count` bytes.
    static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    static func append(_ input: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + encodedCount(input.count))
        alphabet.withUnsafeBufferPointer { table in
            var index = 0
            // Whole groups of three bytes: index + 2 < input.count on each.
            while index + 3 <= input.count {
                let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                out.append(table[Int(group >> 18 & 63)])
                out.append(table[Int(group >> 12 & 63)])
                out.append(table[Int(group >> 6 & 63)])
                out.append(table[Int(group & 63)])
                index += 3
            }
            // One or two bytes left: padded with `=`.
            let rest = input.count - index
            guard rest > 0 else { return }
            let group = UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0)
            out.append(table[Int(group >> 18 & 63)])
            out.append(table[Int(group >> 12 & 63)])
            out.append(rest == 2 ? table[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }
}
