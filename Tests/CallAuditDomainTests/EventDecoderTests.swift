import Testing

@testable import CallAuditDomain

@Suite("Decoding CloudEvents from Kafka messages")
struct EventDecoderTests {
    let decoder = EventDecoder(limits: DecodingLimits(maximumBytes: 4_096))
    let structured = #"{"specversion":"1.0","id":"e-1","source":"urn:pbx","type":"call.ended","time":"2026-11-24T10:00:00+01:00","datacontenttype":"application/json","tenant":"acme","data":{"call_id":"c-1","x_vendor":true}}"#

    func binary(_ headers: [(String, String)], data: String) -> IncomingMessage {
        IncomingMessage(headers: headers.map { (key: $0.0, value: Array($0.1.utf8)) }, value: Array(data.utf8))
    }

    @Test("structured and binary mode give the same stored bytes and content hash")
    func modesAgree() throws {
        let a = try decoder.decodeThrowing(IncomingMessage(headers: [(key: "content-type", value: Array("application/cloudevents+json".utf8))], value: Array(structured.utf8)))
        let b = try decoder.decodeThrowing(binary(
            [("ce_specversion", "1.0"), ("ce_id", "e-1"), ("ce_source", "urn:pbx"), ("ce_type", "call.ended"),
             ("ce_time", "2026-11-24T10:00:00+01:00"), ("content-type", "application/json"), ("ce_tenant", "acme")],
            data: #"{ "x_vendor": true, "call_id": "c-1" }"#))
        #expect(a.canonical == b.canonical)
        #expect(a.contentHash == b.contentHash)
        #expect(a.contentHash.count == 32)
        #expect(a.id == "e-1" && a.source == "urn:pbx" && a.type == .callEnded && a.stream == "call-c-1")
        #expect(a.time == Timestamp(rfc3339: "2026-11-24T09:00:00Z"))
    }

    @Test("extension attributes and unknown data members are kept")
    func keepsExtensions() throws {
        let event = try decoder.decodeThrowing(IncomingMessage(value: Array(structured.utf8)))
        #expect(event.document["tenant"] == "acme")
        #expect(event.document["data"]?["x_vendor"] == true)
    }

    @Test("each kind of bad input is rejected with its reason and no value in the detail")
    func rejectionReasons() {
        let cases: [(IncomingMessage, RejectionReason)] = [
            (IncomingMessage(value: Array("not json".utf8)), .notJSON),
            (IncomingMessage(value: nil), .notJSON),
            (IncomingMessage(value: Array(#"{"id":"e","type":"call.ended"}"#.utf8)), .notCloudEvent),
            (IncomingMessage(value: Array(structured.replacing("call.ended", with: "call.parked").utf8)), .unknownType),
            (IncomingMessage(value: Array(structured.replacing("2026-11-24T10:00:00+01:00", with: "2026-11-24").utf8)), .badTime),
            (IncomingMessage(value: Array(structured.replacing(#""call_id":"c-1""#, with: #""call_id":"""#).utf8)), .schemaViolation),
            (IncomingMessage(value: Array(repeating: UInt8(ascii: " "), count: 5_000)), .oversize),
            (binary([("ce_specversion", "1.0"), ("ce_id", "e"), ("ce_source", "s"), ("ce_type", "call.ended"), ("ce_time", "2026-11-24T10:00:00Z")], data: "{oops"), .notJSON),
        ]
        for (message, reason) in cases {
            guard case .failure(let rejection) = decoder.decode(message) else {
                Issue.record("accepted a message that should be \(reason)")
                continue
            }
            #expect(rejection.reason == reason)
        }
    }

    @Test("violation details name the path but never the personal data")
    func detailsCarryNoPersonalData() {
        let raw = #"{"specversion":"1.0","id":"e","source":"s","type":"subject.erasure_requested","time":"2026-11-24T10:00:00Z","data":{"request_id":"q","subject":{"phone":"0049 secret 123"}}}"#
        guard case .failure(let rejection) = decoder.decode(IncomingMessage(value: Array(raw.utf8))) else {
            Issue.record("accepted an invalid phone number")
            return
        }
        #expect(rejection.detail.contains("data.subject.phone"))
        #expect(!rejection.detail.contains("secret"))
    }

    @Test("the JSON Schemas mark personal data")
    func schemasMarkPII() {
        let schema = EventContract.jsonSchema(for: .callStarted).canonicalString
        #expect(schema.contains(#""phone":{"description""#) || schema.contains(#""x-pii":true"#))
        let subject = EventContract.schema(of: .object(EventContract.subject)).canonicalString
        #expect(subject.components(separatedBy: #""x-pii":true"#).count - 1 == 5)
    }
}
