import Testing

@testable import CallAuditDomain

/// The scanner's raw output buffer: it grows past its capacity keeping what
/// was written, and its in-place edits touch only what they name.
@Suite("OutputBytes, the scanner's reused output buffer")
struct OutputBytesTests {
    @Test("appends past the capacity keep every byte, in order; removeAll keeps the room")
    func growsKeepingBytes() {
        var out = OutputBytes(capacity: 1)
        defer { out.deallocate() }
        var expected: [UInt8] = []
        for round in 0..<200 {
            let chunk = (0..<(round % 13)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
            chunk.withUnsafeBufferPointer { out.append($0) }
            out.append(UInt8(truncatingIfNeeded: round))
            expected += chunk + [UInt8(truncatingIfNeeded: round)]
        }
        #expect(Array(out.bytes) == expected)
        #expect(out.capacity >= expected.count)
        let capacity = out.capacity
        out.removeAll()
        #expect(out.count == 0 && out.capacity == capacity)
        [UInt8]().withUnsafeBufferPointer { out.append($0) }
        #expect(out.count == 0)
    }

    @Test("short copies through registers: every length, each byte copied and none past the end written")
    func copiesEveryLength() {
        let source = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for count in 0...40 {
            for offset in 0..<8 {
                var target = [UInt8](repeating: 0xEE, count: 8 + count + 8)
                source.withUnsafeBufferPointer { from in
                    target.withUnsafeMutableBufferPointer { to in
                        OutputBytes.copy(from.baseAddress! + offset, to: to.baseAddress! + 8, count: count)
                    }
                }
                #expect(Array(target[8..<(8 + count)]) == Array(source[offset..<(offset + count)]), "count \(count), offset \(offset)")
                #expect(target[..<8].allSatisfy { $0 == 0xEE } && target[(8 + count)...].allSatisfy { $0 == 0xEE }, "count \(count)")
            }
        }
    }

    @Test("overwrite changes only the bytes it names")
    func editsInPlace() {
        var out = OutputBytes(capacity: 4)
        defer { out.deallocate() }
        Array("{\"b\":1,\"a\":2}".utf8).withUnsafeBufferPointer { out.append($0) }
        Array("\"a\":2".utf8).withUnsafeBufferPointer { out.overwrite(at: 1, with: $0) }
        out.overwrite(at: 6, with: UInt8(ascii: ","))
        Array("\"b\":1".utf8).withUnsafeBufferPointer { out.overwrite(at: 7, with: $0) }
        #expect(String(decoding: out.bytes, as: UTF8.self) == "{\"a\":2,\"b\":1}")
        #expect(String(decoding: out[1..<6], as: UTF8.self) == "\"a\":2")
    }
}
