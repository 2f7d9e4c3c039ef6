import CallAuditDomain
import CallAuditProjections
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// Fact keys are Swift `String`s in the fold, equal under Unicode canonical
/// equivalence, but `text` in PostgreSQL, compared by bytes. Found by the
/// eighth pass's review and not fixed yet (BENCHMARKS.md, issue 21's eighth
/// pass): a known issue, so that the test fails once it is fixed and is then
/// made an ordinary test.
@Suite("Canonically equivalent ids, incremental against rebuild")
struct CanonicalKeyTests {
    @Test("a recording id stored in NFC, then its NFD twin: the incremental projection and a rebuild keep the same recordings")
    func nfcAndNFD() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = EventStore(connection: try PostgresConnection(conninfo: database.serviceURL))
        let start = Timestamp(rfc3339: "2026-11-24T00:00:00Z")!
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { start }), databaseURL: database.serviceURL, logger: quietLogger)
        func stored(_ id: String, recording: String, at time: String) throws -> IncomingEvent {
            IncomingEvent(
                event: try EventDecoder.validate([
                    "specversion": "1.0", "id": .string(id), "source": "urn:t", "type": "recording.stored", "time": .string(time),
                    "data": ["call_id": "c", "recording_id": .string(recording), "storage_uri": "s3://x",
                             "sha256": .string(String(repeating: "0", count: 64)), "duration_seconds": 5, "bytes": 10],
                ]), origin: nil)
        }
        try store.append(IngestBatch(events: [try stored("s1", recording: "rec-\u{E9}", at: "2026-11-23T00:00:00Z")]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        try store.append(IngestBatch(events: [try stored("s2", recording: "rec-e\u{301}", at: "2026-11-23T00:00:01Z")]), consumerGroup: "g")
        try runner.catchUpWithTheLog(of: database)
        let query = "SELECT encode(convert_to(recording_id, 'UTF8'), 'hex') FROM compliance_recordings ORDER BY 1"
        let incremental = try database.owner().query(query).rows
        #expect(incremental.count == 2, "the incremental projection keeps both spellings: \(incremental)")
        try runner.rebuild()
        let rebuilt = try database.owner().query(query).rows
        withKnownIssue("the rebuild's fold merges canonically equivalent keys that PostgreSQL keeps apart") {
            #expect(incremental == rebuilt)
        }
    }
}
}
