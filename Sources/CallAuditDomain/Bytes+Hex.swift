private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension Array where Element == UInt8 {
    /// Lowercase hexadecimal.
    package var hexString: String {
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        writeHex(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the lowercase hexadecimal digits of these bytes to `out`.
    package func writeHex(into out: inout [UInt8]) {
        // Written into scratch and appended once: an append per digit checked the array's storage 64 times per hash.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count * 2) { digits in
            for (index, byte) in enumerated() {
                digits[2 * index] = Self.hexDigit(byte >> 4)
                digits[2 * index + 1] = Self.hexDigit(byte & 0x0F)
            }
            out.append(contentsOf: digits)
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

    package init?(hexString: some StringProtocol) {
        let utf8 = Array<UInt8>(hexString.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var i = 0
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        self = out
    }
}
