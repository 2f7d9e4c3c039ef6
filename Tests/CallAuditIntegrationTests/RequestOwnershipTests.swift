import CallAuditDomain
import CallAuditRequests
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// A subject request belongs to whoever opened it: no event from elsewhere rewrites it.
@Suite("Requests have one owner")
struct RequestOwnershipTests {
    static func erasureRequested(_ id: String, request: String, source: String, at time: String, phone: String) -> JSONValue {
        [
            "specversion": "1.0", "id": .string(id), "source": .string(source), "type": "subject.erasure_requested", "time": .string(time),
            "data": ["request_id": .string(request), "subject": ["phone": .string(phone)]],
        ]
    }

    /// Stores an event as it stands, past the decoder: what a store written before the contract refused it holds.
    static func storeUnchecked(_ document: JSONValue, in world: DPOWorld) throws {
        let event = DecodedEvent(
            source: document["source"]!.stringValue!, id: document["id"]!.stringValue!, typeName: document["type"]!.stringValue!,
            time: Timestamp(rfc3339: document["time"]!.stringValue!)!, stream: "subject-request-\(document["data"]!["request_id"]!.stringValue!)",
            document: document)
        let sealed = try world.vault.seal([IncomingEvent(event: event, origin: nil)], on: world.connection)
        try EventStore(connection: world.connection).append(IngestBatch(events: sealed), consumerGroup: "test")
        try world.project()
    }

    @Test("the measured rewrite: a platform erasure naming the DPO's request is refused; stored anyway, it changes nothing and is a conflict")
    func platformCannotRewriteTheDPOsRequest() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let opened = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo,
            at: world.now)
        let claim = Self.erasureRequested("evil-1", request: opened.id, source: "urn:elsewhere", at: "2020-01-01T00:00:00Z", phone: "+14155550999")
        guard case .failure(let rejection) = EventDecoder(limits: DecodingLimits(maximumAge: .seconds(86_400 * 365 * 20))).decode(IncomingMessage(value: claim.canonicalBytes)) else {
            Issue.record("a platform event may not name a dsr- request")
            return
        }
        #expect(rejection.reason == .schemaViolation && rejection.detail.contains("dsr-"))

        try Self.storeUnchecked(claim, in: world)
        let request = try #require(try world.desk.request(opened.id))
        #expect(request.channel == "cli" && request.kind == .access && request.receivedAt == opened.receivedAt)
        #expect(request.source == OwnEventType.source && request.claims.map(\.eventID) == ["evil-1"])
        #expect(!request.isOverdue(policy: .default, now: world.now))
        let view = try world.desk.view(request, now: world.now)
        #expect(view["overdue"] == false && view["claims"]?.arrayValue?.count == 1)
        #expect(try world.desk.subjects(of: request).count == 1, "the request names only the person the DPO gave")
        let conflicts = try world.openFindings("EVENT_CONFLICT")
        #expect(conflicts.map { $0[0] } == [opened.id], "the claim is evidence: \(conflicts)")
    }

    @Test("one platform's request cannot be taken over by another source; a late republish never moves its receipt earlier")
    func firstOpenerOwnsAPlatformRequest() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest([Self.erasureRequested("a-1", request: "plat-7", source: "urn:pbx:a", at: "2026-11-20T10:00:00Z", phone: "+14155550101")])
        try world.ingest([
            Self.erasureRequested("b-1", request: "plat-7", source: "urn:pbx:b", at: "2026-11-01T10:00:00Z", phone: "+14155550202"),
            Self.erasureRequested("a-2", request: "plat-7", source: "urn:pbx:a", at: "2026-11-02T10:00:00Z", phone: "+14155550101"),
        ])
        let request = try #require(try world.desk.request("plat-7"))
        #expect(request.source == "urn:pbx:a" && request.receivedEventID == "a-1")
        #expect(request.receivedAt == Timestamp(rfc3339: "2026-11-20T10:00:00Z"), "neither the other source nor the late republish moved it")
        #expect(request.claims.map(\.eventID) == ["b-1"])
        let identifiers = try world.desk.identifiers(of: request)
        #expect(identifiers?["phone"] == "+14155550101")
        #expect(try world.openFindings("EVENT_CONFLICT").count == 1)
        // The compliance projection, rebuilt from the log, agrees.
        try world.rebuild()
        #expect(try world.openFindings("EVENT_CONFLICT").count == 1)
        let deadline = try world.connection.query("SELECT facts->>'received_at', facts->>'source' FROM compliance_requests WHERE request_id = 'plat-7'").rows
        #expect(deadline.first?[0] == "2026-11-20T10:00:00Z" && deadline.first?[1] == "urn:pbx:a")
    }

    @Test("a forged source that opens a request first keeps it, but the real opening is a claim and raises EVENT_CONFLICT")
    func forgedSourceIsSeen() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest([Self.erasureRequested("forged", request: "pr-77", source: "urn:pbx:eu", at: "2026-11-20T10:10:00Z", phone: "+14155550666")])
        try world.ingest([Self.erasureRequested("real", request: "pr-77", source: "urn:pbx:eu", at: "2026-11-20T10:00:00Z", phone: "+14155550101")])
        let request = try #require(try world.desk.request("pr-77"))
        #expect(request.receivedEventID == "forged" && request.claims.map(\.eventID) == ["real"], "the other content is a claim, whatever source it gives")
        #expect(try world.openFindings("EVENT_CONFLICT").map { $0[0] } == ["pr-77"])
    }

    @Test("a platform erasure naming only a shared phone names nobody: erase refuses instead of erasing an empty person, and show says why")
    func sharedIdentifierAloneCannotBeErased() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let switchboard = "+14155550000"
        for (index, customer) in ["CUST-1", "CUST-2"].enumerated() {
            try world.ingest(Events.recordedCall("c\(index)", at: "2026-11-20T1\(index):00:00Z", parties: [
                Events.party("cust", "customer", ["customer_id": .string(customer), "phone": .string(switchboard)]),
            ]))
        }
        try world.ingest([Self.erasureRequested("e-1", request: "pr-1", source: "urn:pbx:eu", at: "2026-11-21T10:00:00Z", phone: switchboard)])
        let request = try #require(try world.desk.request("pr-1"))
        #expect(try world.desk.view(request, now: world.now)["shared_identifiers"] == ["phone"])
        #expect(throws: RequestError.self) { try world.desk.erase("pr-1", by: world.dpo) }
        #expect(try world.database.count("SELECT count(*) FROM subjects WHERE erased_at IS NOT NULL") == 0)
    }
}
}
