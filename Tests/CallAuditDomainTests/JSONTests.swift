import Testing

@testable import CallAuditDomain

@Suite("JSON parsing and RFC 8785 canonical form")
struct JSONTests {
    @Test("parses nested documents and keeps member order")
    func parsesNested() throws {
        let value = try JSONParser.parse(#" {"b": [1, 2.5, -3e2, true, false, null], "a": {"x": "y\n\u00e9\ud83d\ude00"}} "#)
        #expect(value.objectValue?.map(\.key) == ["b", "a"])
        #expect(value["b"] == [1, 2.5, -300, true, false, nil])
        #expect(value["a"]?["x"] == .string("y\né😀"))
    }

    @Test(
        "rejects what is not strict I-JSON",
        arguments: [
            "", "{", "{\"a\":1,}", "[1,]", "01", "1.", "-", "+1", "NaN", "Infinity", "'a'", "{\"a\" 1}", "\"\u{01}\"",
            "{\"a\":1}x", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "{\"a\":1,\"a\":2}", "1e400", "tru", "nul",
        ])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("rejects invalid UTF-8 inside strings")
    func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("keeps ASCII and multi-byte UTF-8 strings exactly")
    func keepsStrings() throws {
        #expect(try JSONParser.parse(#"["plain ascii", "Zürich – 東京", "tab\tend"]"#) == ["plain ascii", "Zürich – 東京", "tab\tend"])
    }

    @Test("rejects nesting deeper than the limit")
    func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test(
        "serialises numbers as ECMAScript does (RFC 8785 §3.2.2.3)",
        arguments: [
            (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.5, "-1.5"), (4.5, "4.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (1e-7, "1e-7"), (0.000001, "0.000001"), (123456789012345680000, "123456789012345680000"),
            (333333333.3333333, "333333333.3333333"), (1e30, "1e+30"), (2.5e-8, "2.5e-8"), (9007199254740992, "9007199254740992"),
            (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (0.1, "0.1"), (100, "100"),
        ])
    func ecmaScriptNumbers(_ value: Double, _ expected: String) {
        #expect(JSONValue.number(value).canonicalString == expected)
    }

    @Test("sorts members by UTF-16 code units and escapes only what RFC 8785 requires")
    func canonicalOrderAndEscapes() throws {
        // The sorting example of RFC 8785 §3.2.3.
        let value = try JSONParser.parse(
            #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
        )
        let keys = try JSONParser.parse(value.canonicalString).objectValue!.map(\.value.stringValue!)
        #expect(keys == ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"])
        #expect(JSONValue.string("a\"b\\c\u{1}\u{1f}\n/é").canonicalString == #""a\"b\\c\u0001\u001f\n/é""#)
    }

    @Test("canonical form does not depend on the producer's formatting")
    func canonicalIsFormattingIndependent() throws {
        let a = try JSONParser.parse(#"{ "b" : 1.0 , "a" : [ "x" , 2e0 ] }"#)
        let b = try JSONParser.parse(#"{"a":["x",2],"b":1}"#)
        #expect(a.canonicalString == #"{"a":["x",2],"b":1}"#)
        #expect(a.canonicalBytes == b.canonicalBytes)
    }

    @Test("member order compared on UTF-8 bytes agrees with UTF-16 order for any names, supplementary characters included")
    func utf16OrderFromUTF8() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Unicode.Scalar] = ["a", "B", "\u{7f}", "\u{e9}", "\u{20ac}", "\u{e000}", "\u{fb33}", "\u{ffff}", "\u{10000}", "\u{1f600}"]
        for _ in 0..<5_000 {
            func name() -> String {
                String(String.UnicodeScalarView((0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            }
            let (a, b) = (name(), name())
            #expect(JSONValue.precedesInUTF16(a, b) == a.utf16.lexicographicallyPrecedes(b.utf16), "\(a.unicodeScalars.map(\.value)) vs \(b.unicodeScalars.map(\.value))")
        }
    }
}
