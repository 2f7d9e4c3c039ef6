import Testing

@testable import CallAuditDomain

/// The fact scanner, typed judged data included, against the tree on the
/// fuzz targets' committed inputs (FuzzTesting/Corpus and FailCases): every
/// decision the tree's, or the text handed to the tree.
@Suite("The fact scanner agrees with the tree on the fuzz corpus")
struct FactScanFuzzCorpusTests {
    /// Contract types whose `data` the fold reads differently, and one of CallAudit's own.
    private static let types = ["call.started", "consent.given", "recording.accessed", "legal_hold.placed", "subject.erasure_requested", "subject.request_opened"]

    @Test("JSON and canonical seeds as an event's data, and as a whole stored row")
    func seedsAsData() throws {
        for target in ["json", "canonical"] {
            try FuzzInputs.check(target: target) { input throws(PropertyViolation) in
                let text = String(decoding: input, as: UTF8.self)
                try FactScanDifferential.check(text)
                for type in Self.types {
                    try FactScanDifferential.check(#"{"data":\#(text),"id":"e","source":"s","time":"2026-12-01T10:00:00Z","type":"\#(type)"}"#)
                }
            }
        }
    }

    @Test("the decoder's seeds as stored when accepted, and every prefix and one-byte edit of some of them")
    func decoderSeedsStored() throws {
        var stored: [[UInt8]] = []
        try FuzzInputs.check(target: "decoder") { input throws(PropertyViolation) in
            let message = EventDecoderProperties.message(fromFuzzInput: input)
            if case .success(let event) = EventDecoderProperties.decoder.decode(message) { stored.append(event.canonical) }
        }
        #expect(stored.count > 10, "\(stored.count) decoder seeds stored")
        for (index, canonical) in stored.enumerated() {
            try FactScanDifferential.check(String(decoding: canonical, as: UTF8.self))
            // Every edit of every seed would take minutes in a debug build: a few, of different types.
            if index % 8 == 0 { try FactScanDifferential.checkEdits(of: canonical) }
        }
    }
}
