import CallAuditDomain
import Testing

@testable import CallAuditRequests

/// A request's stream folded into its state, without a database: the rule
/// every reader (CLI, API, status) shares (docs/requests.md).
@Suite("Folding a subject request from its stream")
struct SubjectRequestFoldTests {
    let platform = "urn:platform"

    func event(_ type: String, id: String, at time: String, source: String = OwnEventType.source, data: JSONValue) -> JSONValue {
        ["type": .string(type), "id": .string(id), "time": .string(time), "source": .string(source), "data": data]
    }

    func opened(id: String = "e1", at time: String = "2026-03-01T09:00:00Z", source: String = OwnEventType.source, ref: String = "p1")
        -> JSONValue
    {
        event(
            OwnEventType.requestOpened.rawValue, id: id, at: time, source: source,
            data: [
                "request_id": "q1", "kind": "erasure", "regime": "gdpr", "channel": "api", "subject": ["subject_ref": .string(ref)],
                "subject_refs": ["p2"], "opened_by": ["name": "dpo-1", "role": "dpo"],
            ])
    }

    @Test("a stream that was never opened folds to nothing")
    func neverOpened() {
        #expect(SubjectRequest.fold([]) == nil)
        let closedOnly = event(OwnEventType.requestClosed.rawValue, id: "e2", at: "2026-03-02T09:00:00Z", data: ["request_id": "q1", "outcome": "answered"])
        #expect(SubjectRequest.fold([closedOnly]) == nil)
    }

    @Test("the opening gives kind, regime, channel, who opened it and every person it names")
    func opening() throws {
        let request = try #require(SubjectRequest.fold([opened()]))
        #expect(request.id == "q1" && request.kind == .erasure && request.regime == "gdpr" && request.channel == "api")
        #expect(request.openedBy == "dpo-1" && request.receivedEventID == "e1")
        #expect(request.subjectRefs == ["p1", "p2"])
        #expect(request.status == .open && request.isOpen)
    }

    @Test("extended once (the first reason stands), then closed once (the first outcome stands)")
    func extendedThenClosed() throws {
        let stream = [
            opened(),
            event(OwnEventType.requestExtended.rawValue, id: "e2", at: "2026-03-10T09:00:00Z", data: ["request_id": "q1", "reason": "complex"]),
            event(OwnEventType.requestExtended.rawValue, id: "e3", at: "2026-03-11T09:00:00Z", data: ["request_id": "q1", "reason": "again"]),
            event(OwnEventType.requestClosed.rawValue, id: "e4", at: "2026-03-20T09:00:00Z", data: ["request_id": "q1", "outcome": "rejected"]),
            event(OwnEventType.requestClosed.rawValue, id: "e5", at: "2026-03-21T09:00:00Z", data: ["request_id": "q1", "outcome": "answered"]),
        ]
        let request = try #require(SubjectRequest.fold(stream))
        #expect(request.extension_?.reason == "complex")
        #expect(request.status == .rejected && request.closed?.at == Timestamp(rfc3339: "2026-03-20T09:00:00Z"))
        #expect(request.deadline(policy: .default) == Timestamp(rfc3339: "2026-06-01T09:00:00Z"), "GDPR extended: three months from receipt")
    }

    @Test("what follows the opening counts only from CallAudit itself")
    func onlyOwnFollowUps() throws {
        let forged = event(
            OwnEventType.requestClosed.rawValue, id: "e2", at: "2026-03-02T09:00:00Z", source: platform, data: ["request_id": "q1", "outcome": "answered"])
        let request = try #require(SubjectRequest.fold([opened(), forged]))
        #expect(request.status == .open)
    }

    @Test("a republished opening changes nothing; another source's opening is a claim, listed and ignored")
    func republishAndClaims() throws {
        let republished = opened(id: "e9", at: "2026-02-01T09:00:00Z")
        let claim = opened(id: "e10", at: "2026-03-02T09:00:00Z", source: platform, ref: "p3")
        let request = try #require(SubjectRequest.fold([opened(), republished, claim]))
        #expect(request.receivedEventID == "e1" && request.receivedAt == Timestamp(rfc3339: "2026-03-01T09:00:00Z"))
        #expect(request.claims.map(\.eventID) == ["e10"])
        #expect(request.subjectRefs == ["p1", "p2"])
    }

    @Test("an erasure the platform sent names only its subject, and the erasure closes it as erased")
    func platformErasure() throws {
        let received = event(
            EventType.subjectErasureRequested.rawValue, id: "k1", at: "2026-03-01T09:00:00Z", source: platform,
            data: ["request_id": "q1", "subject": ["subject_ref": "p1"], "subject_refs": ["p9"], "regime": "ccpa"])
        let erased = event(
            OwnEventType.subjectErased.rawValue, id: "e2", at: "2026-03-05T09:00:00Z",
            data: ["request_id": "q1", "subjects": ["p1"], "by": ["name": "dpo-2", "role": "dpo"]])
        let request = try #require(SubjectRequest.fold([received, erased]))
        #expect(request.channel == "kafka" && request.kind == .erasure && request.regime == "ccpa")
        #expect(request.subjectRefs == ["p1"])
        #expect(request.status == .erased && request.closed?.by == "dpo-2")
        #expect(request.erasure?["subjects"]?.arrayValue?.compactMap(\.stringValue) == ["p1"])
    }

    @Test("each export is kept with its manifest's hash, in order")
    func exports() throws {
        let export = { (id: String, hash: String) in
            self.event(OwnEventType.requestExported.rawValue, id: id, at: "2026-03-03T09:00:00Z", data: ["request_id": "q1", "manifest_sha256": .string(hash)])
        }
        let request = try #require(SubjectRequest.fold([opened(), export("e2", "aa"), export("e3", "bb")]))
        #expect(request.exports.map(\.manifestSHA256) == ["aa", "bb"])
    }

    @Test("overdue: after the deadline while open, or closed after it")
    func overdue() throws {
        let request = try #require(SubjectRequest.fold([opened()]))
        #expect(!request.isOverdue(policy: .default, now: Timestamp(rfc3339: "2026-04-01T09:00:00Z")!))
        #expect(request.isOverdue(policy: .default, now: Timestamp(rfc3339: "2026-04-01T09:00:01Z")!))
    }
}
