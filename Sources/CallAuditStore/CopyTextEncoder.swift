import CallAuditDomain

/// Writes rows in PostgreSQL's COPY text format straight into a byte buffer.
///
/// For the projections' rebuild tables. The ingest writer's COPY into `events`
/// is binary (`CopyBinaryEncoder`), which the server parses with less work.
package struct CopyTextEncoder: Sendable {
    package private(set) var bytes: [UInt8] = []
    private var fieldsInRow = 0

    package init(capacity: Int = 1 << 20) { bytes.reserveCapacity(capacity) }

    package mutating func text(_ value: String) {
        separate()
        var value = value
        // Native strings are contiguous UTF-8: escape from the buffer, not the view.
        value.withUTF8 { escape($0) }
    }

    package mutating func text(bytes value: [UInt8]) {
        separate()
        escape(value)
    }

    package mutating func integer(_ value: some BinaryInteger) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    package mutating func null() {
        separate()
        bytes.append(contentsOf: [0x5C, UInt8(ascii: "N")])
    }

    /// A `bytea` in hex form; the backslash of `\x` is itself escaped for COPY.
    package mutating func bytea(_ value: [UInt8]) {
        separate()
        bytes.append(contentsOf: [0x5C, 0x5C, UInt8(ascii: "x")])
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

    private mutating func escape(_ source: some Collection<UInt8>) {
        // Copy runs without special characters whole; escape only the rest.
        var runStart = source.startIndex
        var index = source.startIndex
        while index != source.endIndex {
            let byte = source[index]
            if byte == 0x5C || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                bytes.append(contentsOf: source[runStart..<index])
                escapeByte(byte)
                runStart = source.index(after: index)
            }
            index = source.index(after: index)
        }
        bytes.append(contentsOf: source[runStart..<index])
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

