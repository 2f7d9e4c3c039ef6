import Testing

@testable import CallAuditDomain

/// `JudgedData`: every member compliance reads, typed, as the fold read it
/// from the tree (`data["…"]?.stringValue` and friends), and the scanner
/// giving the same straight from the bytes.
@Suite("Typed judged data, from the tree and from the bytes")
struct JudgedDataTests {
    private let envelope = #""id":"e","source":"s","time":"2026-12-01T10:00:00Z","type":"recording.accessed""#

    /// The scanner's reading of `data`, checked against the tree's first.
    private func scanned(_ data: String) throws -> JudgedData? {
        let row = #"{"data":\#(data),\#(envelope)}"#
        try FactScanDifferential.check(row)
        guard case .event(let event) = FactScanner.scan(row) else { return nil }
        #expect(event.data == .null, "a judged contract event keeps no tree")
        return event.typedData
    }

    @Test("every judged member read into its field, nested ones too; members nobody judges skipped")
    func everyMember() throws {
        let data = #"""
            {"actor":{"id":"u","role":"qa"},"anonymized":true,"call_id":"c","extra":[1,{"x":null}],"hold_id":"h","legal_basis":"contract",\#
            "method":"beep","parties":[{"device":"voip","jurisdiction":"DE","name":"Zoë","party_id":"p","role":"agent","subject":{"phone":"+1","subject_ref":"ref"}}],\#
            "party_id":"q","purpose":"training","recipient":{"country":"US","organization":"o"},"recording_id":"r","recording_ids":["r1","r2"],\#
            "regime":"ccpa","request_id":"rq","scope":["recording","training"],"subject":{"subject_ref":"sr"}}
            """#
        var expected = JudgedData()
        expected.actorRole = "qa"
        expected.anonymized = true
        expected.callID = "c"
        expected.holdID = "h"
        expected.legalBasis = "contract"
        expected.method = "beep"
        expected.parties = [.init(device: "voip", jurisdiction: "DE", partyID: "p", role: "agent", subjectRef: "ref")]
        expected.partyID = "q"
        expected.purpose = "training"
        expected.recipientCountry = "US"
        expected.recordingID = "r"
        expected.recordingIDs = ["r1", "r2"]
        expected.regime = "ccpa"
        expected.requestID = "rq"
        expected.scope = ["recording", "training"]
        expected.subjectRef = "sr"
        #expect(JudgedData(try JSONParser.parse(data)) == expected)
        #expect(try scanned(data) == expected)
    }

    @Test("a member of another kind than the one read is nil (or false, or empty), as the tree's accessors give it")
    func otherKinds() throws {
        let data = #"""
            {"actor":"qa","anonymized":"yes","call_id":1,"hold_id":null,"method":["beep"],"parties":{"party_id":"p"},"party_id":false,\#
            "recipient":{"country":7},"recording_id":{"id":"r"},"recording_ids":"r1","scope":"all","subject":["sr"]}
            """#
        let expected = JudgedData()
        #expect(JudgedData(try JSONParser.parse(data)) == expected)
        #expect(try scanned(data) == expected)
        #expect(try scanned(#"["c"]"#) == expected, "data that is not an object names nothing")
        #expect(try scanned(#""c""#) == expected)
    }

    @Test("elements: non-string ids and scopes left out, a party that is not an object has every member nil")
    func elements() throws {
        let data = #"{"parties":[1,"p",null,[],{},{"party_id":2,"role":"agent","subject":"sr"}],"recording_ids":[1,"r",null],"scope":[]}"#
        var expected = JudgedData()
        expected.parties = [.init(), .init(), .init(), .init(), .init(), .init(role: "agent")]
        expected.recordingIDs = ["r"]
        expected.scope = []
        #expect(JudgedData(try JSONParser.parse(data)) == expected)
        #expect(try scanned(data) == expected)
    }

    @Test("bytes the typed scan does not decide are read from the tree: an escape in a judged string, names out of order")
    func readFromTheTree() throws {
        var expected = JudgedData()
        (expected.callID, expected.recordingID) = ("a\"b", "r")
        #expect(try scanned(#"{"call_id":"a\"b","recording_id":"r"}"#) == expected)
        #expect(try scanned(#"{"recording_id":"r","call_id":"a\"b"}"#) == expected)
    }

    @Test("a judged event's fold reads the typed data; an event kept whole reads its tree the same way")
    func judgedAndWhole() throws {
        let document = try JSONParser.parse(#"{"data":{"actor":{"role":"dpo"},"recording_id":"r"},\#(envelope)}"#)
        let whole = try #require(FactEvent(document))
        #expect(whole.typedData == nil && whole.data != .null)
        let judged = whole.judged
        #expect(judged.data == .null && judged.typedData == whole.judgedData.value)
        #expect(judged.judgedData.value.actorRole == "dpo" && judged.judgedData.value.recordingID == "r")
        var fromWhole = RecordingFacts(recordingID: "r"), fromJudged = RecordingFacts(recordingID: "r")
        fromWhole.record(whole)
        fromJudged.record(judged)
        #expect(fromWhole == fromJudged && fromJudged.uses.first?.role == "dpo")
    }

    /// `==` on strings is canonical equivalence; the differential also compares bytes.
    @Test("the differential tells apart judged data whose ids differ only in bytes (NFC and NFD), which == takes for equal")
    func differentialComparesBytes() {
        var composed = JudgedData()
        composed.callID = "c-\u{E9}"
        composed.parties = [JudgedData.Party(partyID: "p-\u{E9}")]
        var decomposed = composed
        decomposed.callID = "c-e\u{301}"
        #expect(composed == decomposed, "Swift's == is canonical equivalence")
        #expect(FactScanDifferential.texts(of: composed) != FactScanDifferential.texts(of: decomposed))
        #expect(FactScanDifferential.texts(of: composed) == [Array("c-\u{E9}".utf8), Array("p-\u{E9}".utf8)])
        let event = FactEvent(type: .callStarted, own: nil, id: "e", source: "urn:t", time: Timestamp(rfc3339: "2026-11-24T00:00:00Z")!, judgedData: decomposed)
        #expect(FactScanDifferential.texts(of: FactScan.event(event)).contains(Array("c-e\u{301}".utf8)), "through the event and its shared data")
    }
}
