import CallAuditDomain
import Testing

@testable import CallAuditVault

/// The vault reads a one-pass-decoded subject's identifiers from its canonical bytes
/// (`CanonicalSubject`): they decide which person it is sealed under, so they must be
/// exactly what `Identifier.all(in:)` reads from the object's tree.
@Suite("A subject's identifiers read from its canonical bytes")
struct CanonicalSubjectTests {
    @Test("the tree's identifiers, in the tree's order, for 5,000 random subject objects")
    func sameAsTree() throws {
        var generator = SystemRandomNumberGenerator()
        var read = 0
        for _ in 0..<5_000 {
            let subject = Self.randomSubject(using: &generator)
            let bytes = subject.canonicalBytes
            let tree = Identifier.all(in: try JSONParser.parse(bytes))
            guard let fast = CanonicalSubject.identifiers(in: bytes[...]) else {
                #expect(Self.needsUnescaping(subject), "gave up on \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            read += 1
            #expect(fast == tree, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(read > 2_500, "most subjects are read from their bytes")
    }

    @Test("identifiers come in the kinds' order, not the bytes' (customer_id sorts before phone)")
    func kindsOrder() {
        let subject: JSONValue = .object([
            (key: "phone", value: .string("+44 20 7946 0000")), (key: "name", value: .string("A")),
            (key: "customer_id", value: .string(" C-1 ")), (key: "email", value: .string("X@Example.org")),
        ])
        let bytes = subject.canonicalBytes
        #expect(CanonicalSubject.identifiers(in: bytes[...]) == [.phone("+442079460000"), .email("x@example.org"), .customerID("C-1")])
    }

    @Test("values that are not strings, nested values and escapes elsewhere are skipped whole")
    func skipsValues() {
        let nested: JSONValue = .array([.number(1), .string("]\\\""), .object([(key: "email", value: .string("n@o.p"))])])
        let subject: JSONValue = .object([
            (key: "a\"}", value: .object([(key: "phone", value: .string("+1 555")), (key: "x", value: nested)])),
            (key: "email", value: .number(3)), (key: "name", value: .string("q\"u\\o}te")),
            (key: "phone", value: .string("+1 415 555 0100")), (key: "z", value: .null),
        ])
        let bytes = subject.canonicalBytes
        #expect(CanonicalSubject.identifiers(in: bytes[...]) == [.phone("+14155550100")])
    }

    @Test("an identifier whose value holds an escape is left to the tree; so are bytes that are not one object")
    func givesUp() {
        let escaped: JSONValue = .object([(key: "email", value: .string("a\"b@c.d")), (key: "phone", value: .string("+1 415 555 0100"))])
        #expect(CanonicalSubject.identifiers(in: escaped.canonicalBytes[...]) == nil)
        for text in ["", "{", "{\"phone\"", "{\"phone\":", "{\"phone\":\"+1\"", "{\"phone\":\"+1\"}x", "[]", "{\"a\":}", "{\"a\":\"\\"] {
            #expect(CanonicalSubject.identifiers(in: Array(text.utf8)[...]) == nil, "\(text)")
        }
        #expect(CanonicalSubject.identifiers(in: Array("{}".utf8)[...]) == [])
    }

    @Test("a slice inside a larger buffer is read at its own bounds")
    func slice() {
        let subject: JSONValue = .object([(key: "phone", value: .string("+1 415 555 0100"))])
        let bytes = Array("{\"data\":".utf8) + subject.canonicalBytes + Array("}".utf8)
        #expect(CanonicalSubject.identifiers(in: bytes[8..<bytes.count - 1]) == [.phone("+14155550100")])
    }

    // MARK: Random subjects

    private static let names = Identifier.kinds + ["name", "role", "phone_2", "e", "zz", "a\"b", "emai", "\u{e9}"]

    private static func randomSubject(using generator: inout some RandomNumberGenerator) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        for name in names.shuffled(using: &generator).prefix(Int.random(in: 0...6, using: &generator)) {
            members.append((key: name, value: randomValue(depth: 0, using: &generator)))
        }
        return .object(members)
    }

    private static func randomValue(depth: Int, using generator: inout some RandomNumberGenerator) -> JSONValue {
        switch Int.random(in: 0..<(depth < 2 ? 10 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(Double(Int.random(in: -1_000...1_000, using: &generator)) / 4)
        case 3...6: return .string(randomText(using: &generator))
        case 7, 8: return .array((0..<Int.random(in: 0...3, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            let keys = names.shuffled(using: &generator).prefix(Int.random(in: 0...3, using: &generator))
            return .object(keys.map { (key: $0, value: randomValue(depth: depth + 1, using: &generator)) })
        }
    }

    /// Phone-like, e-mail-like and plain text, now and then with characters canonical form escapes.
    private static func randomText(using generator: inout some RandomNumberGenerator) -> String {
        let pieces = ["+1 415 555 0100", "0044 20 7946 0000", " A@B.org ", "id-7", "\t", "}", "]", ",", ":", "\u{e9}\u{1F600}", "", "+"]
        var text = (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        if Int.random(in: 0..<8, using: &generator) == 0 { text += ["\"", "\\", "\n", "\u{1}"].randomElement(using: &generator)! }
        return text
    }

    /// Whether a member named for an identifier kind holds a string canonical form writes with an escape.
    private static func needsUnescaping(_ subject: JSONValue) -> Bool {
        guard case .object(let members) = subject else { return false }
        return members.contains { member in
            guard Identifier.kinds.contains(member.key), case .string(let text) = member.value else { return false }
            return text.unicodeScalars.contains { $0 == "\"" || $0 == "\\" || $0.value < 0x20 }
        }
    }
}
