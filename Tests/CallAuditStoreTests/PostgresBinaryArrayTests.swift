import Testing

@testable import CallAuditStore

@Suite("Array parameters in PostgreSQL's binary form")
struct PostgresBinaryArrayTests {
    @Test("a bytea[] is array_send's layout: one dimension, no NULLs, element type 17, each element's length before it")
    func byteaLayout() {
        guard case .bytes(let bytes) = PostgresBinaryArray.bytea([[0xAB, 0xCD], []]) else { Issue.record("not binary"); return }
        #expect(bytes == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xAB, 0xCD, 0, 0, 0, 0])
    }

    @Test("a text[] holds each element's UTF-8 bytes under element type 25")
    func textLayout() {
        guard case .bytes(let bytes) = PostgresBinaryArray.text(["é", "a"]) else { Issue.record("not binary"); return }
        #expect(bytes == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xC3, 0xA9, 0, 0, 0, 1, 0x61])
    }

    @Test("an empty array has no dimension, as array_send writes '{}'")
    func emptyArray() {
        guard case .bytes(let bytes) = PostgresBinaryArray.bytea([]) else { Issue.record("not binary"); return }
        #expect(bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17])
    }
}
