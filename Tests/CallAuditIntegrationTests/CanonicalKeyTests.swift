import CallAuditDomain
import CallAuditProjections
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// Swift compares strings by canonical equivalence and PostgreSQL's `text`
/// by bytes. Ids a producer spells in NFC in one batch and in NFD in a later
/// one ("é" and "e" + U+0301) were two rows incrementally, where a rebuild's
/// fold, which met both at once, made one. The read models now key rows by
/// NFC (`String.normalizedKey`); the request streams, which the log keys by
/// bytes, are told apart by bytes. Found by the eighth pass's review.
@Suite("Canonically equivalent ids, incremental against rebuild")
struct CanonicalKeyTests {
    static let (nfc, nfd) = ("\u{E9}", "e\u{301}")

    @Test("ids in NFC in one batch and in NFD in the next: every read model's tables are the same after a rebuild, byte for byte")
    func nfcThenNFD() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        let (nfc, nfd) = (Self.nfc, Self.nfd)
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-\(nfc)", at: "2026-11-02T10:00:00Z", parties: [party], recording: "rec-\(nfc)")
                + [Events.hold("hold-\(nfc)", recordings: ["rec-\(nfc)"], at: "2026-11-03T10:00:00Z"), erasureRequest("req-\(nfc)", at: "2026-11-03T11:00:00Z")])
        try world.ingest([
            Events.event("late-end", .callEnded, "2026-11-04T10:00:00Z", ["call_id": .string("call-\(nfd)")]),
            Events.access("look", "rec-\(nfd)", at: "2026-11-04T11:00:00Z"),
            Events.hold("hold-\(nfd)", recordings: ["rec-\(nfd)"], at: "2026-11-04T12:00:00Z"),
            Events.deletion("rec-\(nfd)", at: "2026-11-05T10:00:00Z"),
            erasureRequest("req-\(nfd)", at: "2026-11-05T11:00:00Z"),
        ])
        let incremental = try readModels(world)
        #expect(incremental["compliance_recordings"]?.count == 1, "one recording, whatever the spelling: \(incremental["compliance_recordings"] ?? [])")
        #expect(incremental["compliance_calls"]?.count == 1)
        #expect(incremental["activity_recordings"]?.count == 1)
        #expect(incremental["subject_requests"]?.count == 2, "two request streams in the log, as PostgreSQL tells them apart")
        try world.rebuild()
        let rebuilt = try readModels(world)
        for (table, rows) in incremental.sorted(by: { $0.key < $1.key }) {
            #expect(rows == rebuilt[table], "\(table): incremental \(rows), rebuilt \(rebuilt[table] ?? [])")
        }
    }

    @Test("a key is in NFC after either reader: the tree's and the scanner's JudgedData agree, and ASCII comes back as it is")
    func normalizedKeys() throws {
        #expect(Array("rec-\(Self.nfd)".normalizedKey.utf8) == Array("rec-\(Self.nfc)".utf8))
        #expect("rec-\(Self.nfc)".normalizedKey.utf8.elementsEqual("rec-\(Self.nfc)".utf8))
        // Combining marks out of canonical order, and a singleton (KELVIN SIGN is K): both fold to one spelling.
        #expect(Array("a\u{327}\u{301}".normalizedKey.utf8) == Array("a\u{301}\u{327}".normalizedKey.utf8))
        #expect("\u{212A}-1".normalizedKey == "K-1" && Array("\u{212A}-1".normalizedKey.utf8) == Array("K-1".utf8))
        let data: JSONValue = [
            "call_id": .string("c-\(Self.nfd)"), "recording_id": .string("r-\(Self.nfd)"), "hold_id": .string("h-\(Self.nfd)"),
            "recording_ids": [.string("r-\(Self.nfd)")], "request_id": .string("q-\(Self.nfd)"),
        ]
        let tree = JudgedData(data)
        #expect(tree.callID.map { Array($0.utf8) } == Array("c-\(Self.nfc)".utf8))
        #expect(tree.recordingIDs.map { Array($0.utf8) } == [Array("r-\(Self.nfc)".utf8)])
        let document: JSONValue = [
            "specversion": "1.0", "id": "e", "source": "urn:t", "type": "legal_hold.placed", "time": "2026-11-24T00:00:00Z", "data": data,
        ]
        guard case .event(let event) = FactScanner.scan(document.canonicalString) else {
            Issue.record("the scanner reads the stored form itself")
            return
        }
        let scanned = event.judgedData.value
        for key in [\JudgedData.callID, \.recordingID, \.holdID, \.requestID] {
            #expect(scanned[keyPath: key].map { Array($0.utf8) } == tree[keyPath: key].map { Array($0.utf8) })
        }
    }

    private func erasureRequest(_ id: String, at time: String) -> JSONValue {
        Events.event("erasure-\(id)", .subjectErasureRequested, time, ["request_id": .string(id), "subject": ["email": "someone@example.com"], "regime": "gdpr"])
    }

    /// Every row of every read model, each column as hex of its text's bytes, sorted: equal means equal bytes.
    private func readModels(_ world: DPOWorld) throws -> [String: [String]] {
        let tables = ComplianceProjection(policy: .default).tables + ActivityProjection(policy: .default).tables + SubjectRequestProjection().tables
        var models: [String: [String]] = [:]
        for table in tables {
            // Findings: a rebuild forgets withdrawn ones and numbers rows anew; their verdicts are what must agree.
            let row = table == "findings" ? "(finding_key, subject, fingerprint, status)" : "t"
            let only = table == "findings" ? "WHERE status <> 'withdrawn'" : ""
            models[table] = try world.connection.query(
                "SELECT encode(convert_to(\(row)::text, 'UTF8'), 'hex') FROM \(table) AS t \(only) ORDER BY 1"
            ).rows.map { $0[0] ?? "" }
        }
        return models
    }
}
}
