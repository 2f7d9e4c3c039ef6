@testable import CallAuditDomain
@testable import CallAuditProjections
import CallAuditStore
import Testing

/// A chunk of a rebuild is written by COPY a slice at a time, encoded on
/// another thread while PostgreSQL parses the slice before (`FactRowStream`).
@Suite("COPY a slice at a time")
struct StreamedCopyTests {
    private struct ProducerFailed: Error {}

    @Test("rows cut anywhere across slices arrive whole; a failing producer leaves nothing and the connection usable; a bad row is refused")
    func slicesOfOneCopy() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.owner()
        try connection.execute("CREATE TABLE streamed (n integer, word text)")
        let payload = Array("1\tone\n2\ttwo\\tthree\n3\t\\N\n".utf8)
        for width in [1, 2, 3, 5, payload.count] {
            var rest = payload[...]
            try connection.copyIn("COPY streamed FROM STDIN") { () throws -> [UInt8]? in
                guard !rest.isEmpty else { return nil }
                defer { rest = rest.dropFirst(width) }
                return Array(rest.prefix(width))
            }
        }
        let rows = try connection.query("SELECT n, coalesce(word, 'NULL'), count(*) FROM streamed GROUP BY 1, 2 ORDER BY 1").rows
        #expect(rows == [["1", "one", "5"], ["2", "two\tthree", "5"], ["3", "NULL", "5"]])

        var given = 0
        #expect(throws: ProducerFailed.self) {
            try connection.copyIn("COPY streamed FROM STDIN") { () throws -> [UInt8]? in
                given += 1
                if given > 1 { throw ProducerFailed() }
                return Array("4\tfour\n".utf8)
            }
        }
        #expect(try database.count("SELECT count(*) FROM streamed WHERE n = 4") == 0)
        #expect(try connection.query("SELECT count(*) FROM streamed").scalar == "15")

        #expect(throws: PostgresError.self) {
            var sent = false
            try connection.copyIn("COPY streamed FROM STDIN") { () -> [UInt8]? in
                defer { sent = true }
                return sent ? nil : Array("five\t5\n".utf8)
            }
        }
        #expect(try connection.query("SELECT count(*) FROM streamed").scalar == "15")

        // The server refused a row before the producer failed: the refusal is the cause given.
        var slices = [Array("six\t6\n".utf8)]
        let refusal = #expect(throws: PostgresError.self) {
            try connection.copyIn("COPY streamed FROM STDIN") { () throws -> [UInt8]? in
                guard !slices.isEmpty else { throw ProducerFailed() }
                return slices.removeFirst()
            }
        }
        #expect(refusal?.sqlState == "22P02", "\(String(describing: refusal))")
        #expect(try connection.query("SELECT count(*) FROM streamed").scalar == "15")
    }

    @Test("a month's fact tables, streamed in small slices, are the whole tables' rows in the same order, and COPY to the same contents")
    func factTablesStreamed() throws {
        // One database, made first: a CREATE DATABASE mid-test holds back the
        // log horizon (a cluster-wide snapshot xmin) of every test running beside it.
        let database = try TestDatabase.create()
        defer { database.drop() }
        var fold = ComplianceFold()
        for stored in simulatedEvents(calls: 400, seed: 21, days: 30, start: "2026-10-01T00:00:00Z") {
            if let event = try FactScanner.factEvent(String(decoding: stored.event.canonical, as: UTF8.self)) { fold.fold(event) }
        }
        // The simulator's parties carry no sealed subject reference (ingest writes those): give each call two.
        for callID in fold.calls.keys.map(\.text) { fold.subjectCalls += [("subject-a-\(callID)", callID, "p1"), ("subject-b-\(callID)", callID, "p2")] }
        #expect(fold.calls.count == 400 && !fold.recordings.isEmpty)

        let whole = ComplianceRebuild.factRows(fold)
        var sliced: [(table: String, bytes: [UInt8])] = []
        ComplianceRebuild.encodeFactRows(fold, sliceBytes: 4_096) { table, rows, tableEnds in
            if sliced.last?.table != table { sliced.append((table, [])) }
            sliced[sliced.count - 1].bytes += rows.bytes
            if !tableEnds {
                #expect(rows.bytes.count >= 4_096 && rows.bytes.last == 0x0A, "a slice is handed over at a row's end once it is big enough")
            }
            return true
        }
        #expect(sliced.map(\.table) == whole.map(\.table))
        #expect(zip(sliced, whole).allSatisfy { $0.bytes == $1.rows.bytes })
        #expect(whole[0].rows.bytes.count > 4 * 4_096, "the calls' table is several slices long")
        var handed = 0
        ComplianceRebuild.encodeFactRows(fold, sliceBytes: 4_096) { _, _, _ in
            handed += 1
            return handed < 2
        }
        #expect(handed == 2, "the encoding stops at the first slice its reader turns down")

        let connection = try database.owner()
        let tables = [("compliance_calls", "call_id"), ("compliance_recordings", "recording_id"), ("compliance_holds", "hold_id"),
                      ("compliance_subject_calls", "subject_key, call_id")]
        func digests() throws -> [String?] {
            try tables.map { table, key in
                try connection.query("SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY \(key)), '')) FROM \(table) t").scalar
            }
        }
        try FactRowStream(fold, sliceBytes: 4_096).copy(into: connection)
        let streamed = try digests()
        try connection.execute("TRUNCATE " + tables.map(\.0).joined(separator: ", "))
        for (table, rows) in whole { try connection.copyIn("COPY \(table) FROM STDIN", payload: rows.bytes) }
        #expect(streamed == (try digests()))
        #expect([streamed[0], streamed[1], streamed[3]].allSatisfy { $0?.hasPrefix("0 ") == false }, "calls, recordings and subjects have rows: \(streamed)")
    }

    @Test("a COPY refused at its first table ends the encoding at its next slice, not after the whole chunk")
    func failedCopyStopsTheEncoding() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let fold = Self.chunk(calls: 2_000)
        var wholeChunk = 0
        ComplianceRebuild.encodeFactRows(fold, sliceBytes: 1 << 14) { _, _, _ in
            wholeChunk += 1
            return true
        }
        #expect(wholeChunk > 100, "the chunk is many slices long: \(wholeChunk)")

        let connection = try database.owner()
        try connection.execute("BEGIN")
        try connection.execute("ALTER TABLE compliance_calls RENAME TO compliance_calls_gone")
        let stream = FactRowStream(fold, sliceBytes: 1 << 14)
        #expect(throws: PostgresError.self) { try stream.copy(into: connection) }
        try connection.execute("ROLLBACK")
        // At most what the queue holds (4), the slice in hand, and the one whose `put` was refused.
        let made = try #require(stream.slicesEncoded, "the encoding has ended when copy returns")
        #expect(made <= 6, "the encoding stopped after \(made) of \(wholeChunk) slices")
    }

    /// A fold of `calls` calls, each with 40 notices: a chunk of many slices.
    private static func chunk(calls: Int) -> ComplianceFold {
        var fold = ComplianceFold()
        let time = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
        let notices = (0..<40).map { CallFacts.Fact(eventID: "notice-\($0)", time: time.adding(seconds: Int64($0)), partyID: "p2", method: "beep") }
        for index in 0..<calls {
            let callID = "call-\(100_000 + index)"
            var call = CallFacts(callID: callID)
            call.notices = notices
            fold.calls[ExactKey(callID)] = call
        }
        return fold
    }

    @Test("a chunk written out on its own thread: the fold's statements go between its slices, and it writes what one COPY writes")
    func chunkWrittenBesideTheFold() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let fold = Self.chunk(calls: 3_000)
        let connection = try database.owner()
        try connection.execute("BEGIN")
        let write = ChunkWrite(fold, reloaded: ReloadedKeys(), connection: connection)
        var seen: [Int64] = []
        while !write.isDone {
            seen.append(try write.turns.foreground { try $0.query("SELECT count(*) FROM compliance_calls").decodeScalar(Int64.self) })
        }
        try write.wait()
        #expect(seen == seen.sorted(), "each statement of the fold sees the slices written before it: \(seen)")
        #expect(seen.contains { $0 > 0 && $0 < 3_000 }, "the fold had turns while the chunk was half written: \(seen.count) turns")
        let digest = "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY call_id)) FROM compliance_calls t"
        let written = try connection.query(digest).scalar
        try connection.execute("TRUNCATE compliance_calls")
        let whole = ComplianceRebuild.factRows(fold)
        for (table, rows) in whole { try connection.copyIn("COPY \(table) FROM STDIN", payload: rows.bytes) }
        #expect(written == (try connection.query(digest).scalar))
        try connection.execute("COMMIT")
    }

    @Test("a chunk whose writing fails: the error comes at the wait, after which the connection is the caller's to roll back")
    func chunkWriteFails() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.owner()
        try connection.execute("BEGIN")
        try connection.execute("ALTER TABLE compliance_calls RENAME TO compliance_calls_gone")
        let write = ChunkWrite(Self.chunk(calls: 2_000), reloaded: ReloadedKeys(), connection: connection)
        #expect(throws: PostgresError.self) { try write.wait() }
        try connection.execute("ROLLBACK")
        #expect(try connection.query("SELECT count(*) FROM compliance_calls").decodeScalar(Int64.self) == 0)
    }
}
