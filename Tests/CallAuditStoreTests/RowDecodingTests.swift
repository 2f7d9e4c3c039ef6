@testable import CallAuditStore
import Testing

@Suite("Typed rows")
struct RowDecodingTests {
    private func row(_ values: [String?]) -> PostgresTextRow {
        PostgresTextRow(columns: values.indices.map { "c\($0)" }, values: values)
    }

    @Test("a row decodes to a tuple of its columns' types, NULL only into an optional")
    func decodesTuples() throws {
        let (name, count, done, missing, bytes) = try row(["x", "42", "t", nil, "\\x00ff10"])
            .decode((String, Int64, Bool, Int?, [UInt8]).self)
        #expect(name == "x" && count == 42 && done && missing == nil && bytes == [0x00, 0xFF, 0x10])
    }

    @Test("an unexpected NULL is bad data naming the column, not a crash, and never shows a value")
    func unexpectedNullIsBadData() {
        #expect(throws: PostgresDecodingError(reason: .unexpectedNull, column: "c1", expected: "Int")) {
            try row(["x", nil]).decode((String, Int).self)
        }
        let error = PostgresDecodingError(reason: .typeMismatch, column: "c0", expected: "Int")
        #expect(throws: error) { try row(["alice@example.com"]).decode(Int.self) }
        #expect(!error.description.contains("alice"))
        #expect(FailureClass(of: error) == .badInput)
    }

    @Test("a wrong number of columns is schema drift, which stops the service")
    func columnCountIsSchemaDrift() throws {
        let error = #expect(throws: PostgresDecodingError.self) { try row(["1", "2", "3"]).decode((Int, Int).self) }
        #expect(error?.reason == .columnCount(expected: 2, found: 3))
        guard case .fatal = FailureClass(of: try #require(error)) else {
            Issue.record("schema drift must be fatal")
            return
        }
    }

    @Test("bytea text that is not hex, or a boolean that is not one, is a type mismatch")
    func malformedValues() {
        #expect(throws: PostgresDecodingError.self) { try row(["\\x0"]).decode([UInt8].self) }
        #expect(throws: PostgresDecodingError.self) { try row(["\\xzz"]).decode([UInt8].self) }
        #expect(throws: PostgresDecodingError.self) { try row(["yes"]).decode(Bool.self) }
    }
}

@Suite("Database URLs")
struct DatabaseURLTests {
    @Test("a URL libpq cannot parse is refused without repeating any of it (libpq's own message would quote the password)")
    func unparsableURLIsNotEchoed() {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConnection(conninfo: "postgresql://user:se%zzcret@127.0.0.1:1/db")
        }
        #expect(error?.message.contains("se%zzcret") == false)
        #expect(error?.message.contains("cannot be parsed") == true)
    }
}
