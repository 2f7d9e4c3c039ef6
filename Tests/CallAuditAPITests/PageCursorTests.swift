import Testing

@testable import CallAuditAPI

@Suite("Page cursors: opaque, round-tripped exactly, anything else refused")
struct PageCursorTests {
    @Test("a cursor reads back as made, even when a platform's request id holds a | or any other character", arguments: [
        ["closed", "1795392000000000", "plat|1"], ["open", "-5", "dsr-0123456789abcdef"], ["received", "0", "réq ü 1"],
    ])
    func roundTrip(_ fields: [String]) throws {
        let text = PageCursor(tag: "requests", fields: fields).encoded
        #expect(text.allSatisfy { $0.isLetter && $0.isASCII || $0.isNumber || $0 == "-" || $0 == "_" })
        let read = try PageCursor.decode(text, tag: "requests", count: 3)
        #expect(read.fields == fields)
        #expect(try read.identifier(2) == fields[2] && read.microseconds(1) == Int64(fields[1]))
    }

    @Test("refused: another list's cursor, padding or another spelling of the same bytes, too few fields, a number that is not one, an empty id")
    func refused() throws {
        let reports = PageCursor(tag: "reports", fields: ["1", "day-2026-11-23"]).encoded
        #expect(throws: Problem.self) { try PageCursor.decode(reports, tag: "requests", count: 3) }
        #expect(throws: Problem.self) { try PageCursor.decode(reports + "=", tag: "reports", count: 2) }
        #expect(throws: Problem.self) { try PageCursor.decode(PageCursor(tag: "reports", fields: ["1"]).encoded, tag: "reports", count: 2) }
        let words = try PageCursor.decode(PageCursor(tag: "reports", fields: ["soon", "x"]).encoded, tag: "reports", count: 2)
        #expect(throws: Problem.self) { try words.microseconds(0) }
        let empty = try PageCursor.decode(PageCursor(tag: "reports", fields: ["1", ""]).encoded, tag: "reports", count: 2)
        #expect(throws: Problem.self) { try empty.identifier(1) }
        #expect(throws: Problem.self) { try PageCursor.decode("", tag: "reports", count: 2) }
    }
}
