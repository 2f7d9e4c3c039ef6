@testable import CallAuditDomain
import Testing

@Suite("ExactKey: ids compared, hashed and ordered by their bytes")
struct ExactKeyTests {
    /// Pairs Swift's `String` takes for one (canonical equivalence) and PostgreSQL's `text` for two.
    static let equivalentPairs: [(String, String)] = [
        ("\u{E9}", "e\u{301}"),
        ("req-K1", "req-\u{212A}1"),
        ("call-\u{1E69}", "call-s\u{323}\u{307}"),
        // Longer than a small string's 15 bytes: the native storage path.
        (String(repeating: "x", count: 40) + "\u{E9}", String(repeating: "x", count: 40) + "e\u{301}"),
    ]

    @Test("canonically equivalent spellings are two keys: unequal, two entries in a set and a dictionary")
    func equivalentSpellingsAreTwoKeys() {
        for (a, b) in Self.equivalentPairs {
            #expect(a == b, "Swift's String takes them for one")
            #expect(ExactKey(a) != ExactKey(b))
            #expect(Set([ExactKey(a), ExactKey(b)]).count == 2)
            let table = [ExactKey(a): 1, ExactKey(b): 2]
            #expect(table[ExactKey(a)] == 1 && table[ExactKey(b)] == 2)
        }
    }

    @Test("equal bytes are one key, with one hash, however the string was made")
    func equalBytesAreOneKey() {
        let literal: ExactKey = "rec-\u{E9}"
        let built = ExactKey(String(decoding: Array("rec-\u{E9}".utf8), as: UTF8.self))
        let substring = ExactKey(String("xx rec-\u{E9}".dropFirst(3)))
        #expect(literal == built && built == substring)
        #expect(literal.hashValue == built.hashValue && built.hashValue == substring.hashValue)
    }

    @Test("ordered as PostgreSQL's COLLATE \"C\" orders: by bytes, a prefix first, the empty key before all")
    func orderedByBytes() {
        let keys = ["b", "", "a\u{301}", "\u{E1}", "ab", "a", "A", "\u{212A}", "K", String(repeating: "z", count: 30)]
        let expected = keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let sorted: [[UInt8]] = keys.map { ExactKey($0) }.sorted().map { Array($0.text.utf8) }
        #expect(sorted == expected)
        #expect(!(ExactKey("a") < ExactKey("a")) && ExactKey("") < ExactKey("a") && !(ExactKey("a") < ExactKey("")))
    }

    @Test("a pair of keys hashes its parts apart: (\"a\", \"bc\") and (\"ab\", \"c\") are fed to the hasher differently")
    func pairsHashApart() {
        struct Pair: Hashable { var a: ExactKey; var b: ExactKey }
        #expect(Pair(a: "a", b: "bc").hashValue != Pair(a: "ab", b: "c").hashValue)
    }
}
