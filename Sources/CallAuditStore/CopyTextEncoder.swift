import CallAuditDomain

/// Writes rows in PostgreSQL's COPY text format straight into a byte buffer.
///
/// For the projections' rebuild tables. The ingest writer's COPY into `events`
/// is binary (`CopyBinaryEncoder`), which the server parses with less work.
package struct CopyTextEncoder: Sendable {
    package private(set) var bytes: [UInt8] = []
    private var fieldsInRow = 0

    package init(capacity: Int = 1 << 20) { bytes.reserveCapacity(capacity) }

    /// The rows `other` holds, taken over; `other` starts again empty, with
    /// room for as many bytes as it gave. Only between rows.
    package init(taking other: inout CopyTextEncoder) {
        precondition(other.fieldsInRow == 0, "rows are handed over whole")
        self.init(capacity: 0)
        var room: [UInt8] = []
        room.reserveCapacity(other.bytes.count)
        swap(&bytes, &other.bytes)
        other.bytes = room
    }

    package mutating func text(_ value: String) {
        separate()
        var value = value
        // Native strings are contiguous UTF-8: escape from the buffer, not the view.
        value.withUTF8 { escape($0) }
    }

    package mutating func text(bytes value: [UInt8]) {
        separate()
        value.withUnsafeBufferPointer { escape($0) }
    }

    package mutating func integer(_ value: some BinaryInteger) {
        separate()
        guard let value = Int64(exactly: value) else {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        writeDecimal(value)
    }

    package mutating func null() {
        separate()
        appendStatic("\\N")
    }

    /// A `bytea` in hex form; the backslash of `\x` is itself escaped for COPY.
    package mutating func bytea(_ value: [UInt8]) {
        separate()
        appendStatic("\\\\x")
        value.writeHex(into: &bytes)
    }

    /// A `timestamptz` in RFC 3339, which PostgreSQL reads as it stands.
    package mutating func timestamp(_ value: Timestamp) {
        separate()
        value.writeRFC3339(into: &bytes)
    }

    package mutating func endRow() {
        bytes.append(0x0A)
        fieldsInRow = 0
    }

    private mutating func separate() {
        if fieldsInRow > 0 { bytes.append(0x09) }
        fieldsInRow += 1
    }

    /// Copies runs without special characters whole and escapes only the
    /// rest. Words of eight bytes with no backslash and no byte below 0x0E
    /// (tab, newline and return are among those) are passed over at once: an
    /// event's canonical bytes hold a special character rarely if ever.
    private mutating func escape(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress else { return }
        let count = source.count
        var runStart = 0
        var index = 0
        while index < count {
            if index + 8 <= count, !Self.mayNeedEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = base[index]
            if byte == 0x5C || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<index]))
                escapeByte(byte)
                runStart = index + 1
            }
            index += 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<count]))
    }

    /// Whether some byte of the word is a backslash or below 0x0E (SWAR: exact
    /// about "some"). Written here rather than called from `ByteWords`: across
    /// modules those tests stayed calls, about 33 instructions a word (callgrind).
    @inline(__always) private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let (ones, highs): (UInt64, UInt64) = (0x0101_0101_0101_0101, 0x8080_8080_8080_8080)
        let below = (word &- ones &* 0x0E) & ~word & highs
        let backslashes = word ^ (ones &* 0x5C)
        return below | ((backslashes &- ones) & ~backslashes & highs) != 0
    }

    /// Decimal digits, written into scratch and appended once (`String(value)` made a String per field).
    private mutating func writeDecimal(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var magnitude = value.magnitude
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                digits[start] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    private mutating func appendStatic(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func escapeByte(_ byte: UInt8) {
        bytes.append(0x5C)
        switch byte {
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default: bytes.append(byte)
        }
    }
}

