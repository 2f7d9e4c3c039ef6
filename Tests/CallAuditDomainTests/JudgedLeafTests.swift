import Testing

@testable import CallAuditDomain

/// The judged scan's own steps that stand in for the tree parser or the
/// standard library: kept leaves read without the parser, and the names' byte order.
@Suite("Kept leaves and name order of the judged scan")
struct JudgedLeafTests {
    @Test("a kept leaf is the tree's value whatever it is: plain, non-ASCII, escaped, control, literal, number, container")
    func keptLeaves() throws {
        let envelope = #""id":"e","source":"s","time":"2026-12-01T10:00:00Z","type":"recording.accessed""#
        let leaves = [
            #""r""#, #""""#, #""Zoë""#, #""😀 x""#, #""\u00e9""#, #""a\"b""#, #""a\\b""#, #""\n""#, "\"\u{7F}\"",
            "true", "false", "null", "1", "-0", "1.5", "1e5", "[]", "{}", #"["a",1]"#, #"{"b":"c"}"#,
        ]
        for leaf in leaves {
            // A leaf at the root of `data`, and one nested in a kept object (`actor.role`, `recipient.country`).
            for data in [#"{"anonymized":\#(leaf),"recording_id":\#(leaf)}"#, #"{"actor":{"id":"u","role":\#(leaf)},"recipient":{"country":\#(leaf)}}"#] {
                let row = #"{"data":\#(data),\#(envelope)}"#
                let decided: Bool
                do { decided = try FactScanDifferential.check(row) } catch {
                    Issue.record("\(leaf): \(error)")
                    continue
                }
                // Every leaf here is one the tree accepts: the scanner decides it, by itself or through the parser at that leaf.
                #expect(decided, "\(leaf) in \(data)")
            }
        }
        guard case .event(let event) = FactScanner.scan(#"{"data":{"anonymized":true,"recording_id":"Zoë","role":null},\#(envelope)}"#) else {
            Issue.record("not decided")
            return
        }
        var expected = JudgedData()
        (expected.anonymized, expected.recordingID) = (true, "Zoë")
        #expect(event.typedData == expected && event.data == .null)
    }

    @Test("a kept string cut short, or a literal misspelt, is not made into a value: the event goes to the tree, which refuses it")
    func brokenLeaves() {
        let envelope = #""id":"e","source":"s","time":"2026-12-01T10:00:00Z","type":"recording.accessed""#
        for leaf in [#""r"#, "tru", "fals", "nul", "truex", "nulll", #""a\"#] {
            let row = #"{"data":{"recording_id":\#(leaf)},\#(envelope)}"#
            #expect(FactScanner.scan(row) == .unsure, "\(leaf)")
            #expect((try? FactScanner.factEvent(row)) == nil, "\(leaf)")
        }
    }

    @Test("names compared in byte order: the sign lexicographicallyPrecedes and == give, for prefixes, equal names and bytes above 0x7F")
    func nameOrder() {
        let names: [[UInt8]] = [[], [0x61], [0x61, 0x61], [0x61, 0x62], [0x62], [0x7F], [0x80], [0xFF], [0x61, 0x80], [0x61, 0x00]]
            + ["actor", "anonymized", "call_id", "call", "call_idx", "subject", "subject_ref"].map { Array($0.utf8) }
        for a in names {
            for b in names {
                a.withUnsafeBufferPointer { left in
                    b.withUnsafeBufferPointer { right in
                        let order = NameOrder.compare(left, right)
                        #expect((order < 0) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
                        #expect((order == 0) == (a == b), "\(a) \(b)")
                        #expect(NameOrder.precedes(left, right) == a.lexicographicallyPrecedes(b))
                    }
                }
            }
        }
    }
}
