import CallAuditDomain
import CallAuditProjections
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests.ComplianceProjectionTests {
    /// Ids that differ only by Unicode normalization, a recording moved between calls chunk after chunk
    /// (back to a call written chunks before), and the same recording touched by consecutive chunks (taken
    /// from the chunk being written, in memory): rebuilt in chunks of 1 to 5 events, as batches project them.
    /// From the review of the chunk written on its own thread.
    @Test(
        "normalization twins and recordings moving between calls across chunks rebuild as batches project them",
        arguments: [1, 2, 3, 5])
    func normalizationTwinsAndMoves(perChunk: Int) throws {
        var serial = 0
        func stored(_ recording: String, of call: String, at time: String) throws -> IncomingEvent {
            serial += 1
            return try Self.event("stored-\(serial)", .recordingStored, at: time, [
                "call_id": .string(call), "recording_id": .string(recording), "storage_uri": .string("s3://recordings/\(serial)"),
                "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 60, "bytes": 4_096,
            ])
        }
        func started(_ call: String, at time: String) throws -> IncomingEvent {
            serial += 1
            return try Self.event("start-\(serial)", .callStarted, at: time, [
                "call_id": .string(call), "direction": "inbound", "channel": "phone", "parties": [
                    ["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": "E1"]],
                ],
            ])
        }
        func accessed(_ recording: String, at time: String) throws -> IncomingEvent {
            serial += 1
            return try Self.event("access-\(serial)", .recordingAccessed, at: time, [
                "recording_id": .string(recording), "actor": ["id": "x1", "role": "marketing"], "action": "download",
            ])
        }
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let events = try [
            started(nfc, at: "2026-10-01T09:00:00Z"),
            stored("r\u{E9}c", of: nfd, at: "2026-10-01T09:01:00Z"),  // of the twin never started
            stored("re\u{301}c", of: nfc, at: "2026-10-01T09:01:30Z"),
            stored("m", of: nfc, at: "2026-10-01T09:02:00Z"),
            stored("m", of: "nowhere", at: "2026-10-01T09:03:00Z"),
            accessed("m", at: "2026-10-02T09:00:00Z"),
            stored("m", of: nfc, at: "2026-10-01T09:04:00Z"),
            accessed("r\u{E9}c", at: "2026-10-02T09:01:00Z"),
            stored("n", of: "later", at: "2026-10-01T09:05:00Z"),
            stored("n", of: nfd, at: "2026-10-01T09:06:00Z"),
            started("later", at: "2026-10-01T09:07:00Z"),
            accessed("n", at: "2026-10-02T09:02:00Z"),
            stored("n", of: "later", at: "2026-10-01T09:08:00Z"),
            accessed("re\u{301}c", at: "2026-10-02T09:03:00Z"),
        ]
        let (database, incremental) = try project(events, batches: events.count)
        defer { database.drop() }
        let owner = try database.owner()
        let before = try Self.state(of: owner).map { $0.filter { $0.last != "withdrawn" } }
        let runner = ProjectionRunner(
            projection: ComplianceProjection(
                policy: .default, clock: { Self.clockStart }, rebuildLimits: ComplianceRebuildLimits(eventsPerChunk: perChunk, factsPerPage: 2, filterBits: 1 << 16)),
            databaseURL: database.serviceURL, logger: quietLogger, batchSize: 250)
        #expect(try runner.rebuild().folded)
        #expect(try openFindings(database) == incremental)
        #expect(try Self.state(of: owner) == before)
    }
}
