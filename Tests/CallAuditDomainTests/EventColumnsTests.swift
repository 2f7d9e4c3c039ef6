import Testing

@testable import CallAuditDomain

@Suite("The columns stored beside an event, derived from its bytes")
struct EventColumnsTests {
    /// One of every own event type, as CallAudit writes it.
    static func ownEvents() throws -> [DecodedEvent] {
        let by: JSONValue = ["name": "dpo-1", "role": "dpo"]
        let sha = JSONValue.string(String(repeating: "ab", count: 32))
        let at = Timestamp(rfc3339: "2026-11-24T10:00:00.123456Z")!
        return try [
            OwnEventType.reportRead.event(
                data: ["report_id": "day-2026-11-23", "version": 1, "format": "json", "reader": by, "channel": "api"], at: at),
            OwnEventType.requestOpened.event(
                data: ["request_id": "q1", "kind": "access", "regime": "gdpr", "subject": ["email": "a@example.com"], "verified_by": "call-back",
                       "opened_by": by, "channel": "cli"], at: at),
            OwnEventType.requestExtended.event(data: ["request_id": "q1", "reason": "volume", "by": by], at: at),
            OwnEventType.requestClosed.event(data: ["request_id": "q1", "outcome": "answered", "by": by], at: at),
            OwnEventType.requestExported.event(data: ["request_id": "q1", "manifest_sha256": sha, "files": 7, "by": by, "channel": "api"], at: at),
            OwnEventType.subjectErased.event(
                data: ["request_id": "q1", "subjects": ["s1"], "erased": ["keys": 1, "index_entries": 2, "dead_letters": 0, "exports": 0],
                       "held_back": [], "by": by], at: at),
            OwnEventType.eventConflict.event(
                data: ["conflict_id": "7", "source": "urn:pbx", "event_id": "e1", "original_position": 3, "original_sha256": sha,
                       "conflicting_sha256": sha], at: at),
            OwnEventType.gapAccepted.event(
                data: ["gap_id": "g1", "consumer_group": "callaudit-ingest", "topic": "calls", "partition": 1, "kind": "below_low_watermark",
                       "stored_offset": 10, "low_watermark": 25, "high_watermark": 90, "resume_offset": 25,
                       "lost": ["from_offset": 10, "to_offset": 25, "messages": 15], "last_ingested_at": "2026-11-24T09:00:00.000000Z",
                       "reason": "outage longer than retention", "by": ["name": "olga", "role": "ops"], "channel": "cli"], at: at),
        ]
    }

    @Test("ingest's columns come back from the stored bytes, read whole or in outline, for every contract sample and every own event type")
    func storedBytesGiveTheColumns() throws {
        let valid = try ContractCorpus.samples.filter(\.valid).map { try EventDecoder.validate(try JSONParser.parse($0.raw)) }
        let own = try Self.ownEvents()
        #expect(Set(valid.map(\.typeName)).count == EventType.allCases.count && own.count == OwnEventType.allCases.count)
        for event in valid + own {
            let whole = try EventColumns(of: try JSONParser.parse(event.canonical), types: .contractAndOwn)
            #expect(whole == event.columns, "\(event.typeName)")
            #expect(EventColumns.derived(fromStored: event.canonical) == event.columns, "\(event.typeName): as verify-store derives them")
        }
    }

    @Test("for every sample, valid or not, the outline derives what the whole document derives, or fails where it fails")
    func outlineAgreesOnEverySample() throws {
        for sample in ContractCorpus.samples {
            guard let whole = try? JSONParser.parse(sample.raw) else { continue }
            let outline = try JSONParser.outline(Array(sample.raw.utf8), depth: 1, members: EventColumns.members)
            for types in [EventColumns.Types.contract, .contractAndOwn] {
                let a = Result { () throws(Rejection) in try EventColumns(of: whole, types: types) }
                let b = Result { () throws(Rejection) in try EventColumns(of: outline, types: types) }
                #expect(a == b, "\(sample.name): the same columns, or the same rejection")
            }
        }
    }

    @Test("producers cannot publish CallAudit's own types; the derivation of stored events accepts them")
    func ownTypesOnlyWhenStored() throws {
        let document = try Self.ownEvents()[0].document
        #expect(throws: Rejection.self) { try EventColumns(of: document, types: .contract) }
        #expect(try EventColumns(of: document, types: .contractAndOwn).stream == "report-day-2026-11-23")
    }

    @Test("a column that differs is named as the events table names it")
    func differencesNameColumns() throws {
        let columns = try EventDecoder.validate(ContractCorpus.event("call.ended", data: ["call_id": "c1"])).columns
        var edited = columns
        #expect(edited.differences(from: columns).isEmpty)
        edited.time = edited.time.adding(seconds: 1)
        edited.id = "e2"
        #expect(edited.differences(from: columns) == ["event_id", "event_time"])
        edited = columns
        edited.stream = "call-c2"
        edited.typeName = "call.started"
        edited.source = "urn:other"
        #expect(edited.differences(from: columns) == ["stream", "type", "source"])
    }

    @Test("the outline keeps strings and the objects asked for (only the members named, if any), exactly as parsed; every other value stands as null")
    func outlineKeepsStrings() throws {
        let text = #" {"a": "x\n\u00e9\ud83d\ude00", "n": -1.5e3, "b": [1, {"c": "d"}], "t": true, "o": {"s": "v", "deep": {"k": "w"}, "m": null}} "#
        let outline = try JSONParser.outline(Array(text.utf8), depth: 1)
        let whole = try JSONParser.parse(text)
        #expect(outline["a"] == whole["a"])
        #expect(outline["n"] == .null && outline["b"] == .null && outline["t"] == .null)
        #expect(outline["o"]?["s"] == "v" && outline["o"]?["deep"] == .null && outline["o"]?["m"] == .null)
        #expect(try JSONParser.outline(Array(text.utf8), depth: 0)["o"] == .null, "depth 0 keeps the root only")
        #expect(try JSONParser.outline(Array(text.utf8), depth: 2)["o"]?["deep"]?["k"] == "w")
        let some = try JSONParser.outline(Array(text.utf8), depth: 1, members: ["o", "s"])
        #expect(some == ["o": ["s": "v"]], "only the members named are kept")
    }

    @Test(
        "the outline refuses broken syntax in what it skips as in what it keeps",
        arguments: [
            "", "{", #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":tru}"#, #"{"a":"\x"}"#,
            #"{"a":"\ud800"}"#, "{\"a\":\"\u{01}\"}", #"{"a":{"b" 1}}"#, #"{"a":1}x"#, #"{"a":1,"a":2}"#, #"{"a":{"b":1,"b":2}}"#,
            #"{"a":{"b":[{"c":"\q"}]}}"#,
        ])
    func outlineRejectsBrokenSyntax(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.outline(Array(text.utf8), depth: 1) }
    }

    @Test("an object of 21,000 members is outlined in linear time, and a duplicate among them is still found")
    func outlineOfHugeObject() throws {
        let members = (0..<21_000).map { "\"m\($0)\":\"v\"" }
        let clock = ContinuousClock()
        let elapsed = try clock.measure { _ = try JSONParser.outline(Array("{\(members.joined(separator: ","))}".utf8), depth: 0) }
        #expect(elapsed < .seconds(2))
        #expect(throws: JSONParseError.self) {
            try JSONParser.outline(Array("{\((members + ["\"m20000\":\"again\""]).joined(separator: ","))}".utf8), depth: 0)
        }
    }
}
