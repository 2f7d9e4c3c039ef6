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
///
/// The bytes go into raw memory this encoder owns (noncopyable, so exactly one owner frees it):
/// through an `[UInt8]`, each 4-byte length was a generic append of a slice, about 160
/// instructions, and a row cost about 5,000 (BENCHMARKS.md, issue 21's fifth pass).
package struct CopyBinaryEncoder: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var count = 0
    private var capacity: Int
    /// Where the open row's field count goes, and how many fields it has so far.
    private var rowStart = 0
    private var fields: UInt16 = 0

    /// "PGCOPY\n\377\r\n\0", no flags (no OIDs), no header extension.
    private static let header: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]

    package init(capacity: Int = 1 << 20) {
        self.capacity = max(capacity, 64) + Self.header.count + 2
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
        Self.header.withUnsafeBytes { fresh.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = fresh
        count = Self.header.count
    }

    deinit { base.deallocate() }

    package mutating func beginRow() {
        rowStart = count
        fields = 0
        append(UInt64(0), byteCount: 2)
    }

    package mutating func endRow() {
        // Written over the two bytes `beginRow` reserved at `rowStart`, which is below `count`.
        base.storeBytes(of: fields.bigEndian, toByteOffset: rowStart, as: UInt16.self)
    }

    /// Writes the trailer (a field count of -1): what COPY reads ends there. Nothing is written after it.
    package mutating func finish() {
        append(UInt64(UInt16.max), byteCount: 2)
    }

    /// The bytes written so far, lent to `body` where they lie: the writer sends a batch's rows
    /// from here, without a copy (about 530 instructions a row under callgrind, memcpy's `rep movsb`).
    package func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The rows and the trailer, copied out once. Nothing is written after it.
    package mutating func finished() -> [UInt8] {
        finish()
        // One copy of the memory (`[UInt8](UnsafeRawBufferPointer)` copied byte by byte, about 500 instructions a row).
        return [UInt8](unsafeUninitializedCapacity: count) { target, initialized in
            // `count` is at least the header's 19 bytes and the trailer's 2, so the target has an address.
            UnsafeMutableRawPointer(target.baseAddress!).copyMemory(from: base, byteCount: count)
            initialized = count
        }
    }

    package mutating func text(_ value: String) {
        // Native Strings hand out their UTF-8 in place; only a bridged one is copied first.
        let written = value.utf8.withContiguousStorageIfAvailable { field(UnsafeRawBufferPointer($0)) } != nil
        guard !written else { return }
        var copy = value
        copy.withUTF8 { field(UnsafeRawBufferPointer($0)) }
    }

    /// `text` or `json` from UTF-8 bytes, or `bytea` from any bytes: all are sent as they stand.
    package mutating func bytes(_ value: [UInt8]) {
        value.withUnsafeBytes { field($0) }
    }

    package mutating func bytes(_ value: UnsafeRawBufferPointer) {
        field(value)
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

    private mutating func field(_ value: UnsafeRawBufferPointer) {
        length(value.count)
        append(value)
    }

    private mutating func length(_ count: Int) {
        fields += 1
        append(UInt64(UInt32(count)), byteCount: 4)
    }

    /// The value's last `byteCount` bytes (at most 8), big-endian.
    private mutating func append(_ value: UInt64, byteCount: Int) {
        reserve(8)
        // All eight bytes are stored, shifted so the wanted ones come first; `count` then moves past
        // only those, and the rest is overwritten by what follows. `reserve(8)` made room for all eight.
        base.storeBytes(of: (value << (64 - UInt64(byteCount) * 8)).bigEndian, toByteOffset: count, as: UInt64.self)
        count += byteCount
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Room for `needed` more bytes after `count`.
    @inline(__always) private mutating func reserve(_ needed: Int) {
        if needed > capacity - count { grow(toHold: count + needed) }
    }

    /// Out of line: a batch's first guess at its size is usually enough.
    @inline(never) private mutating func grow(toHold needed: Int) {
        let grown = max(needed, capacity * 2)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        fresh.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = fresh
        capacity = grown
    }
}
