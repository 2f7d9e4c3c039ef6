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

    @Test("every prefix and one-byte edit of some stored forms")
    func edits() throws {
        for (name, json) in Self.stored.prefix(12) {
            _ = try record(name) { () throws(PropertyViolation) in try FactScanDifferential.checkEdits(of: json); return true }
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
