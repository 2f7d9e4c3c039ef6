import CallAuditDomain

/// Writes rows in PostgreSQL's binary COPY format (`COPY … FROM STDIN WITH (FORMAT binary)`)
/// straight into a byte buffer: the file header, then per row its field count and each field's
/// length and bytes (big-endian), then the trailer.
///
/// The writer's COPY into `events` sends this, not text: on the same rows the server's CPU for
/// the COPY was about a fifth lower (BENCHMARKS.md), since nothing is scanned for escapes and
/// un-escaped (the event's JSON is most of each row) and no timestamp or hex is parsed. The server
/// checks what it checks in text form: the JSON is validated (`json_recv`), text must be UTF-8
/// without NUL, and a refused row is named the same way (`COPY events, line N, column …`), which
/// `PostgresError.copyLine` reads.
package struct CopyBinaryEncoder: Sendable {
    private var buffer: [UInt8] = []
    /// Where the open row's field count goes, and how many fields it has so far.
    private var rowStart = 0
    private var fields: UInt16 = 0

    /// "PGCOPY\n\377\r\n\0", no flags (no OIDs), no header extension.
    private static let header: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]

    package init(capacity: Int = 1 << 20) {
        buffer.reserveCapacity(capacity + Self.header.count + 2)
        buffer.append(contentsOf: Self.header)
    }

    package mutating func beginRow() {
        rowStart = buffer.count
        fields = 0
        buffer.append(contentsOf: [0, 0])
    }

    package mutating func endRow() {
        buffer[rowStart] = UInt8(fields >> 8)
        buffer[rowStart + 1] = UInt8(fields & 0xFF)
    }

    /// The rows and the trailer (a field count of -1): what COPY reads. Nothing is written after it.
    package mutating func finished() -> [UInt8] {
        buffer.append(contentsOf: [0xFF, 0xFF])
        return buffer
    }

    package mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { field($0) }
    }

    /// `text` or `json` from UTF-8 bytes, or `bytea` from any bytes: all are sent as they stand.
    package mutating func bytes(_ value: [UInt8]) {
        value.withUnsafeBufferPointer { field($0) }
    }

    package mutating func int32(_ value: Int32) {
        length(4)
        append(UInt64(UInt32(bitPattern: value)), byteCount: 4)
    }

    package mutating func int64(_ value: Int64) {
        length(8)
        append(UInt64(bitPattern: value), byteCount: 8)
    }

    /// A `timestamptz`: microseconds since PostgreSQL's epoch.
    package mutating func timestamp(_ value: Timestamp) {
        length(8)
        append(UInt64(bitPattern: value.postgresBinary), byteCount: 8)
    }

    package mutating func null() {
        fields += 1
        append(UInt64(UInt32.max), byteCount: 4)
    }

    private mutating func field(_ value: UnsafeBufferPointer<UInt8>) {
        length(value.count)
        buffer.append(contentsOf: value)
    }

    private mutating func length(_ count: Int) {
        fields += 1
        append(UInt64(UInt32(count)), byteCount: 4)
    }

    /// The value's last `byteCount` bytes, big-endian, in one append (one per byte was 40 appends a row).
    private mutating func append(_ value: UInt64, byteCount: Int) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0[(8 - byteCount)...]) }
    }
}
