import CallAuditDomain
import Testing

@testable import CallAuditStore

@Suite("Rows in PostgreSQL's binary COPY format")
struct CopyBinaryEncoderTests {
    @Test("the header, each row's field count, each field's length before its bytes, NULL as length -1, the trailer")
    func layout() {
        var encoder = CopyBinaryEncoder(capacity: 0)
        encoder.beginRow()
        encoder.text("é")
        encoder.null()
        encoder.int32(-2)
        encoder.int64(258)
        encoder.bytes([0xAB])
        encoder.endRow()
        let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        let row: [UInt8] = [0, 5, 0, 0, 0, 2, 0xC3, 0xA9, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFE,
                            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0xAB]
        let written = encoder.finished()
        #expect(written == header + row + [0xFF, 0xFF])
    }

    @Test("a timestamptz counts microseconds from 2000-01-01T00:00:00Z, before it too")
    func timestamps() {
        var encoder = CopyBinaryEncoder(capacity: 0)
        encoder.beginRow()
        encoder.timestamp(Timestamp(microseconds: 946_684_800_000_001))
        encoder.timestamp(Timestamp(microseconds: 0))
        encoder.endRow()
        let bytes = Array(encoder.finished().dropFirst(19 + 2))  // the header, the field count
        #expect(Array(bytes[0..<12]) == [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1])
        // 1970 is 946,684,800,000,000 µs before 2000: two's complement of 0x00035D013B37E000.
        #expect(Array(bytes[12..<24]) == [0, 0, 0, 8, 0xFF, 0xFC, 0xA2, 0xFE, 0xC4, 0xC8, 0x20, 0x00])
    }

    /// The encoder writes into raw memory it grows itself: rows written past its first guess, and a
    /// field larger than everything before it, come out whole and in order.
    @Test("rows past the first guess of the size, and one field larger than all before it, come out whole")
    func growsPastItsGuess() {
        var encoder = CopyBinaryEncoder(capacity: 0)
        var expected: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        func bigEndian(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        for row in 0..<300 {
            let text = String(repeating: "row \(row) é ", count: row % 7)
            let blob = [UInt8](repeating: UInt8(row & 0xFF), count: row == 250 ? 70_000 : row)
            encoder.beginRow()
            encoder.text(text)
            encoder.bytes(blob)
            encoder.int64(Int64(row) - 150)
            encoder.endRow()
            expected += [0, 3] + bigEndian(UInt32(text.utf8.count)) + Array(text.utf8) + bigEndian(UInt32(blob.count)) + blob
            expected += [0, 0, 0, 8] + withUnsafeBytes(of: (Int64(row) - 150).bigEndian) { Array($0) }
        }
        encoder.finish()
        // What the writer sends: the encoder's own bytes, lent where they lie.
        let lent = encoder.withBytes { [UInt8]($0) }
        #expect(lent.count == expected.count + 2)
        #expect(lent == expected + [0xFF, 0xFF])
    }
}
