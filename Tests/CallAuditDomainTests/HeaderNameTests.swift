import Testing

@testable import CallAuditDomain

/// Header look-ups compare names over ASCII bytes when they can: the same
/// answers as lower-casing each name as a String, which they replaced.
@Suite("Header names matched without lower-casing Strings")
struct HeaderNameTests {
    @Test("ASCII names in any case, and the non-ASCII names lower-casing maps to ASCII (the Kelvin sign)")
    func sameAsLowercased() {
        let names = ["ce_specversion", "content-type", "ce_id", "key"]
        let keys = [
            "ce_specversion", "CE_SPECVERSION", "Ce_SpecVersion", "ce_specversio", "ce_specversionx", "", "content-type",
            "Content-Type", "CONTENT-TYPE", "content_type", "ce_id", "CE_ID", "ce_İd", "\u{212A}ey", "\u{212A}EY", "kéy", "ke\u{301}y",
            "ce_ıd", "ﬀ", "ce_\u{0}id", "ce_id\u{0}",
        ]
        for key in keys {
            for name in names {
                #expect(IncomingMessage.name(key, lowercasesTo: name) == (key.lowercased() == name), "\(key) \(name)")
            }
        }
        #expect(IncomingMessage.name("\u{212A}ey", lowercasesTo: "key"), "the Kelvin sign lower-cases to k")
    }

    @Test("the last header of the name, in any case, is the one found")
    func lastOfTheName() {
        let message = IncomingMessage(
            headers: [("CE_SPECVERSION", [1]), ("other", [2]), ("ce_SpecVersion", [3]), ("ce_specversion2", [4])], value: nil)
        #expect(message.header("ce_specversion") == [3])
        #expect(message.header("content-type") == nil)
    }

    @Test("random ASCII and near-ASCII names agree with lower-casing")
    func random() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aAcCeE_-sSpPkKiIdD\u{212A}é0".unicodeScalars)
        for _ in 0..<5_000 {
            var key = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...15, using: &generator) { key.append(alphabet.randomElement(using: &generator)!) }
            let text = String(key)
            for name in ["ce_id", "ce_specversion", "content-type", "k"] {
                #expect(IncomingMessage.name(text, lowercasesTo: name) == (text.lowercased() == name))
            }
        }
    }
}
