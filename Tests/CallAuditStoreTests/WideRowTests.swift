@testable import CallAuditStore
import Testing

/// Wide rows (a dead letter's 19 columns) are decoded in parts: the parts
/// must still name the right columns and together cover the whole row.
@Suite("Typed rows decoded in parts")
struct WideRowTests {
    private let row = PostgresTextRow(columns: ["id", "topic", "erased", "kek"], values: ["7", "calls", "t", nil])

    @Test("prefix and dropFirst split a row at a column, keeping each column's name")
    func splitsKeepNames() throws {
        let (id, topic) = try row.prefix(2).decode((Int64, String).self)
        let (erased, kek) = try row.dropFirst(2).decode((Bool, String?).self)
        #expect(id == 7 && topic == "calls" && erased && kek == nil)
        #expect(throws: PostgresDecodingError(reason: .unexpectedNull, column: "kek", expected: "String")) {
            try row.dropFirst(2).decode((Bool, String).self)
        }
    }

    @Test("a part decoded with a column too few or too many is schema drift")
    func partsStillCountColumns() {
        let error = #expect(throws: PostgresDecodingError.self) { try row.dropFirst(1).decode((String, Bool).self) }
        #expect(error?.isSchemaDrift == true)
    }
}

@Suite("Bytes selected as hex")
struct HexBytesTests {
    @Test("encode(…, 'hex') text decodes to its bytes whatever bytea_output is; anything else is a type mismatch")
    func hex() throws {
        let row = PostgresTextRow(columns: ["key"], values: ["00ff10"])
        #expect(try row.decode(HexBytes.self).bytes == [UInt8]([0x00, 0xFF, 0x10]))
        #expect(throws: PostgresDecodingError(reason: .typeMismatch, column: "key", expected: "HexBytes")) {
            try PostgresTextRow(columns: ["key"], values: ["0fz"]).decode(HexBytes.self)
        }
    }
}
