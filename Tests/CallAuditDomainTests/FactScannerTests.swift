import Testing

@testable import CallAuditDomain

/// The rebuild's scanner against the tree on stored forms: the contract
/// corpus, CallAudit's own events, hand-edited rows, and every prefix and
/// one-byte edit of some of them. The simulator's and the hostile producers'
/// stored forms are checked in `FactScannerCorpusTests` (integration target).
@Suite("The fact scanner gives the tree's FactEvent, or hands the text to the tree")
struct FactScannerTests {
    /// What the store keeps for each valid sample of the contract corpus.
    static let stored: [(name: String, json: [UInt8])] = ContractCorpus.samples.compactMap { sample in
        guard case .success(let event) = EventDecoderProperties.decoder.decode(IncomingMessage(value: Array(sample.raw.utf8))) else { return nil }
        return (sample.name, event.canonical)
    }

    @Test("every stored form of the contract corpus is decided, with the tree's FactEvent")
    func contractCorpus() throws {
        #expect(Self.stored.count > 50)
        for (name, json) in Self.stored {
            let decided = try record(name) { () throws(PropertyViolation) in try FactScanDifferential.check(String(decoding: json, as: UTF8.self)) }
            #expect(decided, "\(name) is decided by the scanner")
        }
    }

    @Test("CallAudit's own events, with escapes, unicode and nested objects in data")
    func ownEvents() throws {
        let hash: JSONValue = .string(String(repeating: "ab", count: 32))
        let data: [(OwnEventType, JSONValue)] = [
            (.requestClosed, ["request_id": "r\"1\\é", "outcome": "answered", "by": ["name": "Zoë \"DPO\"\n😀", "role": "dpo"]]),
            (.eventConflict, [
                "conflict_id": "c-1", "source": "urn:x", "event_id": "e\\1", "original_position": 42, "original_sha256": hash,
                "conflicting_sha256": hash, "kafka": ["topic": "t", "partition": 0, "offset": 7],
            ]),
        ]
        for (type, data) in data {
            let event = try type.event(data: data, at: Timestamp(rfc3339: "2026-12-01T10:00:00.123Z")!)
            let decided = try record(type.rawValue) { () throws(PropertyViolation) in
                try FactScanDifferential.check(String(decoding: event.canonical, as: UTF8.self))
            }
            #expect(decided, "\(type.rawValue) is decided by the scanner")
        }
    }

    @Test("rows a superuser edited: the scanner decides only what the tree does the same way")
    func editedRows() throws {
        let time = #""time":"2026-12-01T10:00:00Z""#
        let rows = [
            #"{"data":{"call_id":"c"},"id":"e","source":"s","specversion":"1.0",\#(time),"type":"call.started"}"#,
            #"{ "data":{"call_id":"c"},"id":"e","source":"s",\#(time),"type":"call.started"}"#,
            #"{"id":"e","data":{"call_id":"c"},"source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":"e","id":"f","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":"e\"","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c","call_id":"d"},"id":"e","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":7,"source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":"e","big":1e400,"source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":"e","source":"s","specversion":{"a":1},\#(time),"type":"call.started"}"#,
            #"{"data":{"call_id":"c"},"id":"e","source":"s",\#(time),"type":"no.such.type"}"#,
            #"{"data":{"call_id":"c"},"id":"e","source":"s","time":"yesterday","type":"call.started"}"#,
            #"{"id":"e","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":\#(String(repeating: "[", count: 63))\#(String(repeating: "]", count: 63)),"id":"e","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":\#(String(repeating: "[", count: 64))\#(String(repeating: "]", count: 64)),"id":"e","source":"s",\#(time),"type":"call.started"}"#,
            #"{"data":null,"id":"e","source":"s",\#(time),"type":"call.started"}"#, "{}", "", "[]",
            #"{"data":{},"id":"e","source":"s",\#(time),"type":"call.started"} "#,
        ]
        for row in rows {
            _ = try record(row) { () throws(PropertyViolation) in try FactScanDifferential.check(row) }
        }
        #expect(FactScanner.scan(rows[0]) != .unsure)
        #expect(FactScanner.scan(rows[3]) == .unsure, "a repeated member is left to the tree, which rejects it")
        #expect(FactScanner.scan(rows[12]) != .unsure, "data nested to the limit is parsed at its depth")
        #expect(FactScanner.scan(rows[13]) == .unsure, "data nested past the limit is left to the tree, which rejects it")
    }

    @Test("strings read eight bytes at a time: a quote, backslash, control or non-ASCII byte anywhere in a name or value is handled as the tree does")
    func specialBytesAnywhere() throws {
        let time = #""time":"2026-12-01T10:00:00Z""#
        var buffers = FactScanBuffers()
        for length in 0...24 {
            for special in ["\\\"", "\\\\", "\\n", "\u{1}", "\u{1F}", "\u{7F}", "é", "😀", "\"", "\\"] {
                for at in 0...length {
                    let text = String(repeating: "a", count: at) + special + String(repeating: "b", count: length - at)
                    let rows = [
                        #"{"data":{"call_id":"\#(text)","skipped":"\#(text)"},"id":"\#(text)","source":"\#(text)",\#(time),"type":"call.ended"}"#,
                        #"{"data":{"\#(text)":"c"},"id":"e","\#(text)":"x","source":"s",\#(time),"type":"call.ended"}"#,
                    ]
                    for row in rows {
                        _ = try record(row) { () throws(PropertyViolation) in try FactScanDifferential.check(row, reusing: &buffers) }
                    }
                    let plain = !special.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
                    #expect((FactScanner.scan(rows[0]) != .unsure) == plain, "\(text.debugDescription)")
                }
            }
        }
    }

    @Test("data read into what compliance judges: kept members as the tree gives them, skipped ones checked as strictly")
    func prunedData() throws {
        let envelope = #""id":"e","source":"s","time":"2026-12-01T10:00:00Z","type":"call.started""#
        let party = #"{"device":"voip","jurisdiction":"DE","name":"Zoë","party_id":"p","role":"agent","subject":{"phone":"+49","subject_ref":"ref"}}"#
        let data = [
            #"{"call_id":"c","channel":"phone","direction":"inbound","parties":[\#(party)]}"#,
            #"{"actor":{"id":"u","role":"qa"},"anonymized":false,"purpose":"x","recipient":{"country":"US","organization":"o"},"recording_id":"r"}"#,
            #"{"actor":"qa","parties":"none","recipient":[1],"subject":null}"#,
            #"{"parties":[1,"p",null,[],{}],"scope":["recording"]}"#,
            #"{"call_id":"c","extra":{"b":1,"a":2}}"#,
            #"{"call_id":"c","extra":{"a":1,"a":2}}"#,
            #"{"call_id":"c","extra":1e5}"#,
            #"{"call_id":"c","extra":1.25}"#,
            #"{"call_id":"c","extra":-0}"#,
            #"{"call_id":"c","extra":0123}"#,
            #"{"call_id":"c","extra":1234567890123456}"#,
            #"{"call_id":"c","extra":"a\"b"}"#,
            #"{"call_id":"c","extra":"\u0000"}"#,
            #"{"call_id":"c","extra":[1,{"x":[true,false,null]}]}"#,
            #"{"call_id":"c","extra":[1,]}"#,
            #"{"call_id":"c","extra":{"é":1}}"#,
            #"{"call_id":"c", "extra":1}"#,
            #"{"extra":1,"call_id":"c"}"#,
            #"{"call_id":"c","extra":\#(String(repeating: "[", count: 62))\#(String(repeating: "]", count: 62))}"#,
            #"{"call_id":"c","extra":\#(String(repeating: "[", count: 63))\#(String(repeating: "]", count: 63))}"#,
            #"{"parties":[{"party_id":"p","subject":{"subject_ref":"r","subject_ref":"s"}}]}"#,
            #"{"call_id":"c","extra":\#(String(repeating: "[", count: 62))1\#(String(repeating: "]", count: 62))}"#,
        ]
        for data in data {
            let row = #"{"data":\#(data),\#(envelope)}"#
            _ = try record(row) { () throws(PropertyViolation) in try FactScanDifferential.check(row) }
        }
        let decided = data.map { FactScanner.scan(#"{"data":\#($0),\#(envelope)}"#) != .unsure }
        #expect(decided[0] && decided[1] && decided[2] && decided[3] && decided[7] && decided[13])
        // What the typed scan does not decide, the tree parser builds whole and the scanner reads; what that refuses goes to the tree.
        #expect(decided[4] && !decided[5] && decided[11] && !decided[14] && decided[17])
        #expect(decided[18] && !decided[19] && !decided[21], "a skipped member nested to the limit is checked, one past it left to the tree")
        guard case .event(let event) = FactScanner.scan(#"{"data":\#(data[0]),\#(envelope)}"#) else { Issue.record("not decided"); return }
        var expected = JudgedData()
        expected.callID = "c"
        expected.parties = [.init(device: "voip", jurisdiction: "DE", partyID: "p", role: "agent", subjectRef: "ref")]
        #expect(event.typedData == expected && event.data == .null)
    }

    @Test("the kept source is reused only for the same bytes (`equals`, compared a word at a time): each length and each place of a difference")
    func sameBytes() {
        for length in 0...20 {
            let a = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            a.withUnsafeBufferPointer { left in
                #expect(left.equals(left))
                var copy = a
                copy.withUnsafeBufferPointer { #expect(left.equals($0)) }
                copy.append(0)
                copy.withUnsafeBufferPointer { #expect(!left.equals($0)) }
                for at in 0..<length {
                    var edited = a
                    edited[at] ^= 0x40
                    edited.withUnsafeBufferPointer { #expect(!left.equals($0), "length \(length), at \(at)") }
                }
            }
        }
    }

    @Test("every prefix and one-byte edit of some stored forms")
    func edits() throws {
        for (name, json) in Self.stored.prefix(12) {
            _ = try record(name) { () throws(PropertyViolation) in try FactScanDifferential.checkEdits(of: json); return true }
        }
    }

    @Test("the type looked up from its bytes is what the two enums' raw values give, for every type and near misses")
    func typeFromBytes() {
        let names = EventType.allCases.map(\.rawValue) + OwnEventType.allCases.map(\.rawValue)
        let nearMisses = names.flatMap { name in [String(name.dropLast()), name + "x", name.uppercased(), "x" + name.dropFirst()] }
        for name in names + nearMisses + ["", "call", "call.started.", String(repeating: "a", count: 200), "é.started", "call\u{0}started"] {
            let found = Array(name.utf8).withUnsafeBufferPointer { EventTypeBytes.lookUp($0) }
            #expect(found.contract == EventType(rawValue: name) && found.own == OwnEventType(rawValue: name), "\(name)")
        }
    }

    /// Runs a check, recording a violation as an issue named after the input.
    private func record(_ name: String, _ body: () throws(PropertyViolation) -> Bool) throws -> Bool {
        do {
            return try body()
        } catch {
            Issue.record("\(name): \(error)")
            return false
        }
    }
}
