import CallAuditDomain
import CallAuditProjections
import CallAuditRequests
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// Ids a producer spells two canonically equivalent ways ("é" as one code
/// point and as "e" + U+0301, or K and the Kelvin sign U+212A). PostgreSQL's
/// `text`, the log's streams and the desk tell them apart by bytes; Swift's
/// `String` compares and hashes by canonical equivalence. Where the two met,
/// rows went missing or merged: the subject-request projection refolded one of
/// two equivalent streams, the findings table withdrew one of two equivalent
/// findings, the quarantine held back an equivalent stream's events, and the
/// desk's deadline pages dropped one of two equivalent requests, and the
/// compliance and activity folds, keyed by `String`, merged in a rebuild (both
/// spellings in one fold) what the batches had kept apart. All of them compare
/// bytes now (`ExactKey`). Found by the eighth and ninth passes' reviews.
@Suite("Canonically equivalent ids, incremental against rebuild")
struct CanonicalKeyTests {
    static let (nfc, nfd) = ("\u{E9}", "e\u{301}")

    @Test("ids in NFC in one batch and in NFD in the next: every read model is the same after a rebuild")
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
        #expect(incremental["subject_requests"]?.count == 2, "two request streams in the log")
        try world.rebuild()
        let rebuilt = try readModels(world)
        #expect(incremental["compliance_calls"]?.count == 2 && incremental["activity_recordings"]?.count == 2, "two calls, two recordings")
        expectSame(incremental, rebuilt)
    }

    @Test("the DPO extends and closes a request a producer opened in NFD; incremental and rebuild agree")
    func requestClosedInProducersSpelling() throws {
        // Past the request's first deadline (2026-12-03), so a request left open is overdue.
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        defer { world.drop() }
        // The desk finds a request by its stream, which keeps the producer's bytes: the DPO uses them.
        let id = "req-\(Self.nfd)"
        try world.ingest([erasureRequest(id, at: "2026-11-03T11:00:00Z")])
        _ = try world.desk.extend(id, reason: "complex", by: world.dpo, at: Timestamp(rfc3339: "2026-11-04T10:00:00Z")!)
        try world.project()
        _ = try world.desk.close(id, outcome: .rejected, by: world.dpo, at: Timestamp(rfc3339: "2026-11-05T10:00:00Z")!)
        try world.project()
        let incremental = try readModels(world)
        let incrementalFacts = try world.connection.query("SELECT facts::text FROM compliance_requests").rows.map { $0[0] ?? "" }
        let incrementalOverdue = try world.openFindings("SUBJECT_REQUEST_OVERDUE")
        try world.rebuild()
        let rebuilt = try readModels(world)
        let rebuiltFacts = try world.connection.query("SELECT facts::text FROM compliance_requests").rows.map { $0[0] ?? "" }
        #expect(incrementalFacts == rebuiltFacts, "incremental \(incrementalFacts), rebuilt \(rebuiltFacts)")
        #expect(incrementalOverdue == (try world.openFindings("SUBJECT_REQUEST_OVERDUE")), "overdue findings")
        expectSame(incremental, rebuilt)
    }

    @Test("two unauthorized accesses whose event ids are canonically equivalent, in two batches: two findings, as a rebuild makes")
    func findingKeysOfCanonicallyEquivalentAnchors() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-f", at: "2026-11-02T10:00:00Z", parties: [party], recording: "rec-f")
                + [Events.access("look-\(Self.nfc)", "rec-f", at: "2026-11-04T11:00:00Z", role: "intern")])
        try world.ingest([Events.access("look-\(Self.nfd)", "rec-f", at: "2026-11-04T12:00:00Z", role: "intern")])
        // A third batch touching the recording re-judges it again.
        try world.ingest([Events.access("look-ok", "rec-f", at: "2026-11-04T13:00:00Z")])
        let incremental = try readModels(world)
        let changes = try world.connection.query("SELECT change FROM finding_changes WHERE rule = 'ACCESS_UNAUTHORIZED_ROLE' ORDER BY id").rows.map { $0[0] ?? "" }
        let incrementalOpen = try world.openFindings("ACCESS_UNAUTHORIZED_ROLE").count
        try world.rebuild()
        let rebuiltOpen = try world.openFindings("ACCESS_UNAUTHORIZED_ROLE").count
        #expect(rebuiltOpen == 2, "a rebuild raises one finding per access")
        #expect(incrementalOpen == rebuiltOpen, "incremental \(incrementalOpen) open, rebuilt \(rebuiltOpen); changes recorded: \(changes)")
        #expect(incremental["findings"] == (try readModels(world))["findings"])
    }

    @Test("two parties whose ids are canonically equivalent, both cured in a later batch: no finding stays open")
    func curedFindingsOfCanonicallyEquivalentParties() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        let parties: [JSONValue] = [
            Events.party("p-\(Self.nfc)", "customer", ["phone": "+4930123456"]), Events.party("p-\(Self.nfd)", "customer", ["phone": "+4930999999"]),
        ]
        try world.ingest([
            Events.event("c-start", .callStarted, "2026-11-02T10:00:00Z", ["call_id": "call-c", "direction": "inbound", "channel": "phone", "parties": .array(parties)]),
            Events.event("c-rec", .recordingStarted, "2026-11-02T10:00:03Z", ["call_id": "call-c", "recording_id": "rec-c"]),
        ])
        let raised = try world.openFindings("CONSENT_MISSING").count
        try world.ingest(["p-\(Self.nfc)", "p-\(Self.nfd)"].enumerated().map { index, party in
            Events.event("c-consent-\(index)", .consentGiven, "2026-11-02T10:00:04Z", [
                "call_id": "call-c", "party_id": .string(party), "method": "verbal", "scope": ["recording"],
            ])
        })
        let incrementalOpen = try world.openFindings("CONSENT_MISSING").count
        try world.rebuild()
        let rebuiltOpen = try world.openFindings("CONSENT_MISSING").count
        #expect(raised == 2, "one finding per party before the consents")
        #expect(rebuiltOpen == 0)
        #expect(incrementalOpen == rebuiltOpen, "incremental \(incrementalOpen) open, rebuilt \(rebuiltOpen)")
    }

    @Test("two claims on two requests whose event ids are canonically equivalent: both stay findings, after a rebuild too")
    func requestClaimsOfCanonicallyEquivalentEventIDs() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        func claim(_ id: String, request: String, at time: String) -> JSONValue {
            [
                "specversion": "1.0", "id": .string(id), "source": "urn:other", "type": "subject.erasure_requested", "time": .string(time),
                "data": ["request_id": .string(request), "subject": ["email": "someone@example.com"], "regime": "gdpr"],
            ]
        }
        try world.ingest([erasureRequest("req-1", at: "2026-11-03T11:00:00Z"), erasureRequest("req-2", at: "2026-11-03T11:00:00Z")])
        try world.ingest([claim("claim-\(Self.nfc)", request: "req-1", at: "2026-11-04T11:00:00Z")])
        let first = try world.openFindings("EVENT_CONFLICT")
        try world.ingest([claim("claim-\(Self.nfd)", request: "req-2", at: "2026-11-05T11:00:00Z")])
        let incremental = try world.openFindings("EVENT_CONFLICT")
        try world.rebuild()
        let rebuilt = try world.openFindings("EVENT_CONFLICT")
        #expect(first.count == 1, "the first claim is a finding: \(first)")
        #expect(incremental.count == 2, "each claim stays a finding (incremental): \(incremental)")
        #expect(rebuilt.count == 2, "each claim stays a finding (rebuilt): \(rebuilt)")
    }

    /// Claims were judged under the subject "request-claim:<event id>", so a claim from another source
    /// that reused the id took the first one's place and withdrew its finding (noticed in the ninth review).
    @Test("two claims from two sources with the same event id, on two requests: both stay findings, after a rebuild too")
    func requestClaimsWithOneIDFromTwoSources() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        func claim(from source: String, request: String, at time: String) -> JSONValue {
            [
                "specversion": "1.0", "id": "claim-1", "source": .string(source), "type": "subject.erasure_requested", "time": .string(time),
                "data": ["request_id": .string(request), "subject": ["email": "someone@example.com"], "regime": "gdpr"],
            ]
        }
        try world.ingest([erasureRequest("req-1", at: "2026-11-03T11:00:00Z"), erasureRequest("req-2", at: "2026-11-03T11:00:00Z")])
        try world.ingest([claim(from: "urn:other-a", request: "req-1", at: "2026-11-04T11:00:00Z")])
        try world.ingest([claim(from: "urn:other-b", request: "req-2", at: "2026-11-05T11:00:00Z")])
        let incremental = try world.openFindings("EVENT_CONFLICT")
        try world.rebuild()
        let rebuilt = try world.openFindings("EVENT_CONFLICT")
        #expect(incremental.count == 2, "each claim stays a finding (incremental): \(incremental)")
        #expect(rebuilt.count == 2, "each claim stays a finding (rebuilt): \(rebuilt)")
    }

    @Test("a request opened first under a KELVIN SIGN spelling of a legitimate ASCII request id, then rejected: the legitimate request still goes overdue, after a rebuild too")
    func squattedRequestID() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2027-01-20T00:00:00Z")!)
        defer { world.drop() }
        let squatter: JSONValue = [
            "specversion": "1.0", "id": "squat-1", "source": "urn:attacker", "type": "subject.erasure_requested", "time": "2026-11-02T11:00:00Z",
            "data": ["request_id": "req-\u{212A}1", "subject": ["email": "nobody@example.com"], "regime": "gdpr"],
        ]
        try world.ingest([squatter])
        try world.ingest([erasureRequest("req-K1", at: "2026-11-03T11:00:00Z")])
        _ = try world.desk.close("req-\u{212A}1", outcome: .rejected, by: world.dpo, at: Timestamp(rfc3339: "2026-11-04T10:00:00Z")!)
        try world.project()
        let listed = try world.desk.list().map { "\($0.id.unicodeScalars.map { String($0.value, radix: 16) }) \($0.status.rawValue)" }
        let incremental = try world.openFindings("ERASURE_OVERDUE")
        try world.rebuild()
        let rebuilt = try world.openFindings("ERASURE_OVERDUE")
        #expect(listed.count == 2, "the desk lists two requests: \(listed)")
        #expect(incremental.count == 1, "the legitimate request req-K1, open past its deadline, is overdue (incremental): \(incremental); listed \(listed)")
        #expect(rebuilt.count == 1, "the same after a rebuild: \(rebuilt)")
    }

    @Test("the same log rebuilt in chunks of 2 events (facts written out, the key filter, reloads, paged judging) gives the incremental tables")
    func chunkedRebuildAgrees() throws {
        let now = Timestamp(rfc3339: "2026-11-24T00:00:00Z")!
        let world = try DPOWorld(now: now)
        defer { world.drop() }
        let (nfc, nfd) = (Self.nfc, Self.nfd)
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-\(nfc)", at: "2026-11-02T10:00:00Z", parties: [party], recording: "rec-\(nfc)")
                + [Events.hold("hold-\(nfc)", recordings: ["rec-\(nfc)"], at: "2026-11-03T10:00:00Z"), erasureRequest("req-\(nfc)", at: "2026-11-03T11:00:00Z")])
        try world.ingest([
            Events.event("late-end", .callEnded, "2026-11-04T10:00:00Z", ["call_id": .string("call-\(nfd)")]),
            Events.access("look", "rec-\(nfd)", at: "2026-11-04T11:00:00Z", role: "intern"),
            Events.hold("hold-\(nfd)", recordings: ["rec-\(nfd)", "rec-\u{212A}"], at: "2026-11-04T12:00:00Z"),
            Events.deletion("rec-\(nfd)", at: "2026-11-05T10:00:00Z"),
            Events.event("k-rec", .recordingStored, "2026-11-05T11:00:00Z", [
                "call_id": .string("call-\(nfd)"), "recording_id": "rec-K", "storage_uri": "s3://r/k",
                "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 1, "bytes": 1,
            ]),
            erasureRequest("req-\(nfd)", at: "2026-11-05T11:00:00Z"),
        ])
        let incremental = try readModels(world)
        // The world's runners let go of the projections' leadership: fresh ones take it only when used.
        world.restartProjections()
        let runner = ProjectionRunner(
            projection: ComplianceProjection(policy: .default, clock: { now }, rebuildLimits: .init(eventsPerChunk: 2, factsPerPage: 1, filterBits: 64)),
            databaseURL: world.database.serviceURL, logger: quietLogger)
        let outcome = try runner.rebuild()
        #expect(outcome.folded)
        let rebuilt = try readModels(world)
        expectSame(incremental, rebuilt, tables: ComplianceProjection(policy: .default).tables)
    }

    @Test("both spellings in one batch: two calls, two recordings, each under the hold that names it; a rebuild agrees")
    func bothSpellingsInOneBatch() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        let (nfc, nfd) = (Self.nfc, Self.nfd)
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-\(nfc)", at: "2026-11-02T10:00:00Z", parties: [party], recording: "rec-\(nfc)")
                + Events.recordedCall("call-\(nfd)", at: "2026-11-02T11:00:00Z", parties: [party], recording: "rec-\(nfd)")
                + [Events.hold("hold-1", recordings: ["rec-\(nfc)", "rec-\(nfd)"], at: "2026-11-03T10:00:00Z")])
        let incremental = try readModels(world)
        let held = try world.connection.query(
            "SELECT count(*) FROM compliance_recordings WHERE facts::text LIKE '%hold-1%'").decodeScalar(Int64.self)
        #expect(incremental["compliance_calls"]?.count == 2 && incremental["compliance_recordings"]?.count == 2, "\(incremental)")
        #expect(incremental["activity_calls"]?.count == 2 && incremental["activity_recordings"]?.count == 2)
        #expect(held == 2, "the hold covers both recordings")
        try world.rebuild()
        let rebuilt = try readModels(world)
        expectSame(incremental, rebuilt)
    }

    @Test("a person's two recordings whose ids are canonically equivalent, one under a legal hold: the export lists both, the erasure holds one back and lists the other to delete")
    func erasureTellsEquivalentRecordingsApart() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-22T12:00:00Z")!)
        defer { world.drop() }
        let (nfc, nfd) = (Self.nfc, Self.nfd)
        let party = Events.party("p", "customer", ["phone": "+14155550100"])
        try world.ingest(
            Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [party], recording: "rec-\(nfc)")
                + Events.recordedCall("c2", at: "2026-11-21T10:00:00Z", parties: [party], recording: "rec-\(nfd)")
                + [Events.hold("H1", recordings: ["rec-\(nfc)"], at: "2026-11-21T12:00:00Z")])
        let identifiers = SubjectIdentifiers(phone: "+14155550100")
        let access = try world.desk.open(kind: .access, regime: "gdpr", identifiers: identifiers, verifiedBy: "call-back", by: world.dpo, at: world.now)
        let files = try world.unzip(try world.desk.export(access.id, signingKey: world.signingKeys.current, by: world.dpo, at: world.now))
        let exported = try JSONParser.parse(Array(files["export.json"]!.utf8))["recordings"]?.arrayValue?.compactMap { $0["recording_id"]?.stringValue } ?? []
        #expect(exported.map { Array($0.utf8) } == [Array("rec-\(nfd)".utf8), Array("rec-\(nfc)".utf8)], "both recordings, in byte order: \(exported)")

        let erasure = try world.desk.open(kind: .erasure, regime: "gdpr", identifiers: identifiers, verifiedBy: "call-back", by: world.dpo, at: world.now)
        let report = try world.desk.erase(erasure.id, by: world.dpo, at: world.now)
        #expect(report.heldBack.map { Array($0.recordingID.utf8) } == [Array("rec-\(nfc)".utf8)], "the held one is held back")
        #expect(report.recordingsToDelete.map { Array($0.utf8) } == [Array("rec-\(nfd)".utf8)], "the other is to be deleted")
    }

    /// On a database whose default collation is not "C" (a stock PostgreSQL image's en_US, say), the
    /// hold's merge sorted its recordings by that collation ("rec-a" before "rec-B") and a rebuild by
    /// bytes ("rec-B" first). The column is given an ICU collation here to stand for such a database.
    @Test("a hold placed in two batches on a database whose collation is not C: its recordings in byte order, as a rebuild writes them")
    func holdRecordingsInByteOrder() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        try world.database.owner().execute("ALTER TABLE activity_holds ALTER COLUMN recording_ids TYPE text[] COLLATE \"en-x-icu\"")
        try world.ingest([Events.hold("H", recordings: ["rec-a"], at: "2026-11-03T10:00:00Z")])
        try world.ingest([Events.event("hold-again", .legalHoldPlaced, "2026-11-04T10:00:00Z", [
            "hold_id": "H", "recording_ids": ["rec-B"], "case_ref": "LIT-1", "actor": ["id": "legal-1", "role": "legal"],
        ])])
        let holds = "SELECT recording_ids::text FROM activity_holds"
        let incremental = try world.connection.query(holds).rows
        try world.rebuild()
        let rebuilt = try world.connection.query(holds).rows
        #expect(incremental == [["{rec-B,rec-a}"]], "byte order: \(incremental)")
        #expect(incremental == rebuilt, "incremental \(incremental), rebuilt \(rebuilt)")
    }

    @Test("two open requests whose ids are canonically equivalent, received at once: paging the desk by deadline, one page each, lists both")
    func deadlinePagesListBoth() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!)
        defer { world.drop() }
        try world.ingest([erasureRequest("req-\(Self.nfc)", at: "2026-11-03T11:00:00Z"), erasureRequest("req-\(Self.nfd)", at: "2026-11-03T11:00:00Z")])
        var seen: [[UInt8]] = []
        var after: RequestPageKey?
        for _ in 0..<4 {
            let page = try world.desk.page(order: .deadline, status: .open, after: after, limit: 1)
            seen += page.requests.map { Array($0.id.utf8) }
            guard let next = page.next else { break }
            after = next
        }
        #expect(try world.desk.list(status: .open).count == 2)
        #expect(Set(seen).count == 2, "both requests are listed, one page each: \(seen)")
    }

    @Test("ids that begin with a combining mark: the request is listed, and the recording's retention deadline is judged when it passes")
    func idsBeginningWithACombiningMark() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-10-02T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("c-mark", at: "2026-10-01T10:00:00Z", parties: [party], recording: "\u{301}rec")
                + [erasureRequest("\u{301}req", at: "2026-10-01T11:00:00Z")])
        // Stream "subject-request-" + U+0301…: its last "-" and the mark are one character, so `hasPrefix` said no.
        #expect(try world.desk.list().contains { $0.id.utf8.elementsEqual("\u{301}req".utf8) }, "the request is listed")
        #expect(try world.openFindings("RETENTION_EXCEEDED").isEmpty)
        // Subject "recording:" + U+0301…: read back by bytes when its deadline passes.
        world.advance(to: Timestamp(rfc3339: "2027-06-01T00:00:00Z")!)
        try world.project()
        let overdue = try world.openFindings("RETENTION_EXCEEDED").map { $0[1].map { Array($0.utf8) } }
        #expect(overdue == [Array("\u{301}rec".utf8)], "the retention deadline passed: \(overdue)")
    }

    private func erasureRequest(_ id: String, at time: String) -> JSONValue {
        Events.event("erasure-\(id)", .subjectErasureRequested, time, ["request_id": .string(id), "subject": ["email": "someone@example.com"], "regime": "gdpr"])
    }

    /// Each table's rows the same, by bytes, incrementally and after a rebuild (every table of `incremental` by default).
    private func expectSame(
        _ incremental: [String: [String]], _ rebuilt: [String: [String]], tables: [String]? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for table in tables ?? incremental.keys.sorted() {
            #expect(incremental[table] == rebuilt[table], "\(table): incremental \(incremental[table] ?? []), rebuilt \(rebuilt[table] ?? [])",
                    sourceLocation: sourceLocation)
        }
    }

    /// Every row of every read model, each as hex of its text's bytes, sorted: equal means equal bytes.
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
