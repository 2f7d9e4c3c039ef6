import Testing

@testable import CallAuditDomain

@Suite("Fact documents")
struct FactDocumentTests {
    /// Writes the facts the way the fact tables keep them and reads them back.
    func roundTrip<Facts: FactDocument>(_ facts: Facts) throws -> Facts {
        try Facts(document: try JSONParser.parse(facts.document.compactBytes))
    }

    @Test("call facts with every field set come back equal")
    func callFacts() throws {
        var f = EventFactory()
        var call = CallFacts(callID: "c1")
        call.record(f.make(.callStarted, at: 0, ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [
            ["party_id": "a", "role": "agent", "subject": ["employee_id": "E"]],
            ["party_id": "p", "role": "customer", "jurisdiction": "US-CA", "device": "cellular", "subject": ["customer_id": "C"]],
        ]]))
        call.record(f.make(.noticePlayed, at: 1, ["call_id": "c1", "method": "ivr_prompt"]))
        call.record(f.make(.consentGiven, at: 2, ["call_id": "c1", "party_id": "p", "method": "verbal", "scope": ["recording", "training"]]))
        call.record(f.make(.recordingStarted, at: 3, ["call_id": "c1", "recording_id": "r1"]))
        call.record(f.make(.consentWithdrawn, at: 4, ["call_id": "c1", "party_id": "p"]))
        #expect(call.parties.count == 2 && call.consents.count == 1 && call.refusals.count == 1 && call.recordingTimeline.count == 1)
        #expect(try roundTrip(call) == call)
    }

    @Test("recording facts with uses, deletions and holds come back equal")
    func recordingFacts() throws {
        var f = EventFactory()
        var recording = RecordingFacts(recordingID: "r1")
        recording.record(f.make(.recordingStored, at: 10, ["call_id": "c1", "recording_id": "r1"]))
        recording.record(f.make(.recordingShared, at: 20, [
            "recording_id": "r1", "actor": ["id": "x", "role": "qa_reviewer"], "purpose": "quality_assurance", "anonymized": true,
            "recipient": ["country": "US"], "legal_basis": "adequacy",
        ]))
        recording.record(f.make(.recordingDeleted, at: 30, ["recording_id": "r1"]))
        recording.placeHold("h1", at: EventFactory.origin, eventID: "hp")
        recording.releaseHold("h1", at: EventFactory.origin.adding(seconds: 5), eventID: "hr")
        recording.placeHold("h2", at: EventFactory.origin.adding(seconds: 7), eventID: "hp2")
        #expect(try roundTrip(recording) == recording)
        #expect(try roundTrip(HoldFacts(recordingIDs: ["r1", "r2"], placed: .init(eventID: "hp", time: EventFactory.origin))) .recordingIDs == ["r1", "r2"])
    }

    @Test("a request keeps its hashed keys and facts; its recordings are not stored but looked up when judged")
    func requestRecord() throws {
        var facts = SubjectRequestFacts(requestID: "q1", kind: .erasure, regime: "gdpr", receivedAt: EventFactory.origin, receivedEventID: "e1")
        facts.extended = true
        facts.completedAt = EventFactory.origin.adding(seconds: 60)
        let record = RequestRecord(subjectKeys: ["k1", "k2"], facts: facts)
        #expect(try roundTrip(record) == record)
        var withRecordings = record
        withRecordings.facts.recordings = ["r1": nil]
        #expect(try roundTrip(withRecordings) == record)
    }

    @Test("documents written straight as bytes are the tree's compact bytes, with optionals absent or present and strings escaped")
    func writtenAsBytes() {
        let time = EventFactory.origin
        var call = CallFacts(callID: "c\"1\\é")
        #expect(bytes(call.writeDocument) == call.document.compactBytes)
        call.startedEventID = "s"
        call.parties = [.init(id: "a", role: "agent"), .init(id: "p\n", role: "customer", jurisdiction: "DE", device: "voip")]
        call.notices = [.init(eventID: "n", time: time, partyID: nil, method: "beep")]
        call.consents = [.init(eventID: "c", time: time.adding(seconds: 1), partyID: "p", method: "verbal", scope: ["recording", "tr\u{1}"])]
        call.refusals = [.init(eventID: "r", time: time, partyID: "p", kind: "consent.refused"), .init(eventID: "w", time: time, scope: [])]
        call.recordingTimeline = [.init(eventID: "t", time: Timestamp(microseconds: 1_234_567), recordingID: "r1", kind: "recording.started")]
        #expect(bytes(call.writeDocument) == call.document.compactBytes)

        var recording = RecordingFacts(recordingID: "r1")
        #expect(bytes(recording.writeDocument) == recording.document.compactBytes)
        recording.callID = "c1"
        recording.stored = .init(eventID: "st", time: time)
        recording.deletions = [.init(eventID: "d1", time: time), .init(eventID: "d2", time: time.adding(seconds: 2))]
        recording.uses = [
            .init(eventID: "u1", time: time, role: "qa", kind: "recording.accessed", purpose: nil, anonymized: false, country: nil, legalBasis: nil),
            .init(eventID: "u2", time: time, role: "", kind: "recording.shared", purpose: "p", anonymized: true, country: "US", legalBasis: "b"),
        ]
        recording.placeHold("h1", at: time, eventID: "hp")
        recording.releaseHold("h1", at: time.adding(seconds: 5), eventID: "hr")
        recording.placeHold("h2", at: time, eventID: "hp2")
        #expect(bytes(recording.writeDocument) == recording.document.compactBytes)
    }

    @Test("strings needing an escape at any place, long or short, or none, are written as the tree writes them")
    func escapesAnywhere() {
        for length in 0...19 {
            for special in ["\"", "\\", "\n", "\u{1}", "\u{1F}", "é", "😀", " ", "~"] {
                for at in 0...length {
                    let id = String(repeating: "a", count: at) + special + String(repeating: "b", count: length - at)
                    var call = CallFacts(callID: id)
                    call.parties = [.init(id: String(repeating: "p", count: length), role: id)]
                    call.consents = [.init(eventID: id, time: EventFactory.origin, scope: [id, ""])]
                    #expect(bytes(call.writeDocument) == call.document.compactBytes, "\(id.debugDescription)")
                }
            }
        }
    }

    @Test("documents as written are scanned to what was written, unless a string needed an escape; every edit scans to the tree's facts or is left to it")
    func scannedAsTheTreeReads() throws {
        let time = EventFactory.origin
        for id in ["c1", "", "é", "e\u{301}", "😀", "a\"b", "a\\b", "a\nb", "\u{1}", "a b", "\u{7F}", "末"] {
            var call = CallFacts(callID: id)
            try FactDocumentDifferential.checkWritten(call)
            call.startedEventID = "s-" + id
            call.parties = [.init(id: "a", role: "agent"), .init(id: id, role: "customer", jurisdiction: "DE", device: id)]
            call.notices = [.init(eventID: "n", time: time, partyID: nil, method: "beep")]
            call.consents = [.init(eventID: id, time: time.adding(seconds: 1), partyID: "p", method: "verbal", scope: ["recording", id])]
            call.refusals = [.init(eventID: "r", time: time, partyID: id, kind: "consent.refused"), .init(eventID: "w", time: time, scope: [])]
            call.recordingTimeline = [.init(eventID: "t", time: Timestamp(microseconds: 1_234_567), recordingID: id, kind: "recording.started")]
            try FactDocumentDifferential.checkWritten(call)

            var recording = RecordingFacts(recordingID: id)
            try FactDocumentDifferential.checkWritten(recording)
            recording.callID = id
            recording.stored = .init(eventID: "st", time: time)
            recording.deletions = [.init(eventID: id, time: time), .init(eventID: "d2", time: time.adding(seconds: 2))]
            recording.uses = [
                .init(eventID: "u1", time: time, role: id, kind: "recording.accessed", purpose: nil, anonymized: false, country: nil, legalBasis: nil),
                .init(eventID: "u2", time: time, role: "", kind: "recording.shared", purpose: id, anonymized: true, country: "US", legalBasis: "b"),
            ]
            recording.placeHold(id, at: time, eventID: "hp")
            recording.releaseHold(id, at: time.adding(seconds: 5), eventID: "hr")
            recording.placeHold("h2", at: time, eventID: id)
            try FactDocumentDifferential.checkWritten(recording)
        }
    }

    @Test("a document whose members are reordered, doubled, unknown or spaced is left to the tree, which decides")
    func otherShapesLeftToTheTree() throws {
        let call = #"{"call_id":"c","parties":[],"notices":[],"consents":[],"refusals":[],"recording_timeline":[]}"#
        #expect(CallFacts.scanned(call) == CallFacts(callID: "c"))
        for other in [
            #"{"parties":[],"call_id":"c","notices":[],"consents":[],"refusals":[],"recording_timeline":[]}"#,
            #"{"call_id":"c","call_id":"d","parties":[],"notices":[],"consents":[],"refusals":[],"recording_timeline":[]}"#,
            #"{"call_id":"c","parties":[],"notices":[],"consents":[],"refusals":[],"recording_timeline":[],"x":1}"#,
            #"{"call_id": "c","parties":[],"notices":[],"consents":[],"refusals":[],"recording_timeline":[]}"#,
            #"{"call_id":"c"}"#,
            call + " ",
        ] {
            #expect(CallFacts.scanned(other) == nil, "\(other)")
            try FactDocumentDifferential.check(other, as: CallFacts.self)
        }
        // The tree still reads what it reads: members in another order, missing arrays.
        #expect(try CallFacts(stored: #"{"call_id":"c"}"#) == CallFacts(callID: "c"))
        #expect(throws: FactDocumentError(field: "time")) {
            try RecordingFacts(stored: #"{"recording_id":"r","stored":{"event_id":"e","time":"yesterday"},"deletions":[],"uses":[],"holds":[]}"#)
        }
    }

    private func bytes(_ write: (inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        write(&out)
        return out
    }

    @Test("a document without a required field is an error naming the field, not a fact with holes")
    func missingField() {
        #expect(throws: FactDocumentError(field: "event_id")) {
            try RecordingFacts(document: ["recording_id": "r1", "stored": ["time": "2026-01-01T00:00:00Z"]])
        }
    }
}
