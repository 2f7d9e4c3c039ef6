import Foundation
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

    @Test("duplicate ce_ headers are rejected in binary mode, as duplicate members are in structured mode")
    func duplicateHeadersRejected() {
        let headers = [("ce_specversion", "1.0"), ("ce_id", "e-1"), ("ce_source", "s"), ("ce_type", "call.ended"), ("ce_time", "2026-11-24T10:00:00Z")]
        for duplicate in [("ce_id", "e-2"), ("CE_ID", "e-1"), ("content-type", "application/json")] {
            let message = binary(headers + [("content-type", "application/json"), duplicate], data: #"{"call_id":"c"}"#)
            guard case .failure(let rejection) = decoder.decode(message) else {
                Issue.record("accepted a duplicate \(duplicate.0) header")
                continue
            }
            #expect(rejection.reason == .notCloudEvent)
            #expect(rejection.detail.contains("more than once"))
        }
        #expect((try? decoder.decodeThrowing(binary(headers + [("content-type", "application/json")], data: #"{"call_id":"c"}"#))) != nil)
    }

    @Test("event times outside the plausible window are bad_time: far past, far future, and year 10000 reached through an offset")
    func implausibleTimes() {
        let now = Timestamp(rfc3339: "2026-11-26T12:00:00Z")!
        let decoder = EventDecoder(limits: DecodingLimits(maximumAge: .seconds(365 * 86_400), maximumLead: .seconds(3_600)), clock: { now })
        func decode(_ time: String) -> Result<DecodedEvent, Rejection> {
            decoder.decode(IncomingMessage(value: Array(structured.replacing("2026-11-24T10:00:00+01:00", with: time).utf8)))
        }
        #expect((try? decode("2026-11-26T12:59:00Z").get()) != nil, "within the lead")
        #expect((try? decode("2025-11-27T12:00:00Z").get()) != nil, "within the age")
        for time in ["2026-11-26T13:01:00Z", "2024-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"] {
            guard case .failure(let rejection) = decode(time) else {
                Issue.record("accepted \(time)")
                continue
            }
            #expect(rejection.reason == .badTime, "\(time)")
        }
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59-23:59") == nil, "year 10000 in UTC cannot be written back as RFC 3339")
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59Z")?.rfc3339 == "9999-12-31T23:59:59Z")
    }

    @Test("a 256 KiB event with 21,000 data members decodes in milliseconds, and a duplicate among them is still found")
    func manyMembersDecodeInLinearTime() throws {
        let members = (0..<21_000).map { String(format: "\"k%06d\":1", $0) }
        func event(_ extra: [String]) -> IncomingMessage {
            let data = (["\"call_id\":\"c\""] + extra).joined(separator: ",")
            return IncomingMessage(
                value: Array(#"{"specversion":"1.0","id":"e","source":"s","type":"call.ended","time":"2026-11-24T10:00:00Z","data":{\#(data)}}"#.utf8))
        }
        let decoder = EventDecoder()
        let large = event(members)
        #expect(large.value!.count > 250_000 && large.value!.count <= DecodingLimits.defaultMaximumBytes)
        let started = ContinuousClock.now
        let decoded = try decoder.decodeThrowing(large)
        let elapsed = started.duration(to: .now)
        // Quadratic duplicate checks took about 40 s for such a message; a linear decode takes milliseconds (more in debug builds).
        #expect(elapsed < .seconds(2), "decoded in \(elapsed)")
        #expect(decoded.document["data"]?.objectValue?.count == 21_001)
        guard case .failure(let rejection) = decoder.decode(event(members + ["\"k010000\":2"])) else {
            Issue.record("accepted a duplicate member among many")
            return
        }
        #expect(rejection.reason == .notJSON && rejection.detail.contains("duplicate member name"))
    }
}

/// Personal data goes only where the vault seals it.
@Suite("Personal data outside subject objects")
struct PersonalDataTests {
    let decoder = EventDecoder()

    func decode(_ event: JSONValue) -> Result<DecodedEvent, Rejection> {
        decoder.decode(IncomingMessage(value: event.canonicalBytes))
    }

    /// `hasPrefix` compares characters: a combining mark after "urn:callaudit:" joined the ":" into
    /// another one, and the source passed for a producer's. Prefixes are compared as bytes.
    @Test("a source under CallAudit's own is refused, also when a combining mark follows its prefix")
    func ownSourceBehindACombiningMark() {
        for source in ["urn:callaudit", "urn:callaudit:x", "urn:callaudit:\u{301}x"] {
            guard case .failure(let rejection) = decode(ContractCorpus.with(ContractCorpus.event("call.ended", data: ["call_id": "c1"]), "source", .string(source))) else {
                Issue.record("accepted a producer's event under CallAudit's source \(Array(source.utf8))")
                continue
            }
            #expect(rejection.reason == .notCloudEvent && rejection.detail.contains("CallAudit's own"), "\(rejection)")
        }
        #expect(!OwnEventType.isOwn(source: "urn:callauditx") && OwnEventType.isOwn(source: "urn:callaudit:\u{301}x"))
    }

    @Test("an identifier or a name anywhere but in a subject object is refused, naming the place and not the value",
          arguments: [
              ["call_id": "c1", "phone": "+14155550100"],
              ["call_id": "c1", "caller": ["email": "a@example.com"]],
              ["call_id": "c1", "notes": [["customer_id": "C-9"]]],
              ["call_id": "c1", "agent": ["name": "Ada Lovelace"]],
          ] as [JSONValue])
    func identifiersOutsideSubjectsAreRefused(_ data: JSONValue) {
        guard case .failure(let rejection) = decode(ContractCorpus.event("call.ended", data: data)) else {
            Issue.record("accepted personal data outside a subject")
            return
        }
        #expect(rejection.reason == .schemaViolation)
        #expect(rejection.detail.contains("outside a subject object"))
        for secret in ["+14155550100", "a@example.com", "C-9", "Ada"] { #expect(!rejection.detail.contains(secret)) }
    }

    @Test("an identifier as a top-level extension attribute is refused too")
    func topLevelIdentifierIsRefused() {
        let event = ContractCorpus.event("call.ended", data: ["call_id": "c1"], extra: [("email", "a@example.com")])
        guard case .failure(let rejection) = decode(event) else { Issue.record("accepted"); return }
        #expect(rejection.reason == .schemaViolation && rejection.detail.hasPrefix("email"))
    }

    @Test("every object named subject in data is a subject, wherever it sits: the vault finds each, outermost only")
    func subjectsAnywhereAreFound() throws {
        let data: JSONValue = [
            "call_id": "c1",
            "x_vendor": ["transfer": ["subject": ["phone": "+14155550100", "subject": ["name": "inner"]]]],
            "x_list": [["subject": ["email": "b@example.com"]], ["subject": "a subject line, not personal data"]],
        ]
        let event = try decoder.decodeThrowing(IncomingMessage(value: ContractCorpus.event("call.ended", data: data).canonicalBytes))
        let paths = Set(PersonalData.subjectPaths(in: event.document))
        #expect(paths == [
            [.key("data"), .key("x_vendor"), .key("transfer"), .key("subject")], [.key("data"), .key("x_list"), .index(0), .key("subject")],
        ])
    }

    @Test("member names a producer chose are not repeated in a rejection, only those the contract uses")
    func producerNamesAreNotEchoed() {
        for name in ["14155550100", "jane_doe", "+1 415 555 0100"] {
            let data: JSONValue = .object([(key: "call_id", value: "c1"), (key: name, value: ["phone": "+14155550100"] as JSONValue)])
            guard case .failure(let rejection) = decode(ContractCorpus.event("call.ended", data: data)) else { Issue.record("accepted"); return }
            #expect(rejection.detail.hasPrefix("data.*.phone"), "\(rejection.detail)")
        }
    }

    @Test("NUL in an id or a stream key is refused before PostgreSQL's text columns would")
    func nulIsRefused() {
        for event: JSONValue in [
            ContractCorpus.with(ContractCorpus.event("call.ended", data: ["call_id": "c1"]), "id", "a\u{0}b"),
            ContractCorpus.event("call.ended", data: ["call_id": "c\u{0}1"]),
        ] {
            guard case .failure(let rejection) = decode(event) else { Issue.record("accepted a NUL"); continue }
            #expect(rejection.detail.contains("NUL"))
        }
    }

    @Test("a binary-mode message whose header names are not UTF-8 is refused; the key counts toward the size limit")
    func headerNamesAndKeySize() {
        let headers: [(key: String, value: [UInt8]?)] = [
            ("ce_specversion", Array("1.0".utf8)), ("ce_id", Array("e".utf8)), ("ce_source", Array("s".utf8)),
            ("ce_type", Array("call.ended".utf8)), ("ce_time", Array("2026-11-24T10:00:00Z".utf8)),
        ]
        let value = Array(#"{"call_id":"c1"}"#.utf8)
        #expect((try? decoder.decodeThrowing(IncomingMessage(headers: headers, value: value))) != nil)
        guard case .failure(let bad) = decoder.decode(IncomingMessage(headers: headers, value: value, headerNamesAreUTF8: false)) else {
            Issue.record("accepted repaired header names")
            return
        }
        #expect(bad.reason == .notCloudEvent)
        let small = EventDecoder(limits: DecodingLimits(maximumBytes: 4_096))
        guard case .failure(let big) = small.decode(IncomingMessage(headers: headers, value: value, keyBytes: 5_000)) else {
            Issue.record("a 5,000-byte key passed a 4,096-byte limit")
            return
        }
        #expect(big.reason == .oversize)
    }
}
