import CallAuditDomain
import CallAuditStore
import Testing

extension DatabaseTests {
@Suite("The rebuild's read of the log: stored JSON only")
struct EventLogDocumentsTests {
    @Test("pages of stored JSON give the events read(after:) gives, in the same order, ending where it ends; nothing at or above the horizon")
    func documentsAreTheLogsEvents() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        // Transaction ids 8 to 12: in text order "10" < "11" < "12" < "8" < "9".
        for xid in 8...12 { try insertEvent("xid-\(xid)", on: owner, transactionID: xid) }
        for id in ["a", "b", "c"] { try insertEvent("later-\(id)", on: owner) }
        // Still in flight: at or above the horizon, so neither reader may see it.
        let open = try database.owner()
        try open.execute("BEGIN")
        try insertEvent("in-flight", on: open)
        defer { try? open.execute("ROLLBACK") }

        let log = EventLog(connection: owner)
        let horizon = try log.horizon()
        let whole = try log.read(after: .start, below: horizon, limit: 100)
        #expect(whole.count == 8)
        var documents: [String] = [], ends: [LogCursor] = [], cursor = LogCursor.start
        while let page = try log.readDocuments(after: cursor, below: horizon, limit: 3) {
            #expect(page.documents.count <= 3)
            documents += page.documents
            ends.append(page.last)
            cursor = page.last
        }
        #expect(documents == whole.map(\.json))
        #expect(ends == [whole[2].cursor, whole[5].cursor, whole[7].cursor], "each page ends at its last event's place")
        #expect(try log.readDocuments(after: whole[7].cursor, below: horizon, limit: 3) == nil)
        #expect(!documents.contains { $0.contains("in-flight") })
    }
}
}

extension DatabaseTests {
@Suite("8-byte columns of binary results")
struct BigEndianColumnTests {
    @Test("bigint and xid8 columns read back as stored, every byte in its place, negative values by their bit pattern")
    func eightByteColumns() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let values: [Int64] = [0, 1, -1, 255, 256, 0x0102_0304_0506_0708, -0x0102_0304_0506_0708, .max, .min]
        var read: [Int64] = []
        try database.owner().forEachRow(
            "SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS t(v, n) ORDER BY n", [.text("{\(values.map(String.init).joined(separator: ","))}")],
            binary: true
        ) { row in read.append(Int64(bitPattern: try row.requiredBigEndian(0))) }
        #expect(read == values)
        var xid: UInt64 = 0
        try database.owner().forEachRow("SELECT '18446744073709551000'::xid8", binary: true) { row in xid = try row.requiredBigEndian(0) }
        #expect(xid == 18_446_744_073_709_551_000)
    }
}
}
