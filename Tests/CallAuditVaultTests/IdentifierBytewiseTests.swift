import Foundation
import Testing

import CallAuditDomain
@testable import CallAuditVault

/// `Identifier.e164`, `trimmed` and `indexInput` work over UTF-8 bytes (fewer allocations on ingest's seal
/// stage); they must give what the scalar-wise code they replaced gave, kept here as the reference.
@Suite("Identifier normalisation: byte-wise against the scalar-wise reference")
struct IdentifierBytewiseTests {
    static func referenceE164(_ text: String) -> String? {
        var rest = Substring(text)
        if rest.hasPrefix("+") { rest = rest.dropFirst() } else if rest.hasPrefix("00") { rest = rest.dropFirst(2) } else { return nil }
        var digits = ""
        for scalar in rest.unicodeScalars {
            if ("0"..."9").contains(scalar) { digits.unicodeScalars.append(scalar); continue }
            guard " ()./-".unicodeScalars.contains(scalar) else { return nil }
        }
        guard (2...15).contains(digits.count), digits.first != "0" else { return nil }
        return "+" + digits
    }

    static func referenceTrimmed(_ text: String) -> String {
        let space: Set<Unicode.Scalar> = [" ", "\t", "\n", "\r"]
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, space.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, space.contains(last) { scalars.removeLast() }
        return String(scalars)
    }

    static let tricky = [
        "", "+", "00", "+1", "+12", "+0123", "0012", "+1 (415) 555-0100", "0044 20 7946 0958", "+\u{301}14155550100",
        "00\u{301}14155550100", "0\u{301}014155550100", "+1234567890123456", "+123456789012345", "+1\r\n2", "+1\u{00A0}2",
        "+١٢٣", "++12", " +12", "+12 ", "\r\n+12\t", "\n", " \t ", "é ", " é", "\r\n", "a\r\n", "\u{301} ", " \u{301}",
        "+1.2/3(4)5-6 7", "+12\u{0}", "００12",
    ]

    @Test("the same normal forms, index inputs and refusals on tricky and random strings")
    func sameAsReference() {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("+0123456789 ()./-\t\r\na@éé\u{301}١\u{0}".unicodeScalars)
        var inputs = Self.tricky
        for _ in 0..<20_000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...18, using: &random) { text.append(alphabet.randomElement(using: &random)!) }
            inputs.append(String(text))
        }
        for input in inputs {
            #expect(Identifier.e164(input) == Self.referenceE164(input), "e164 of \(Array(input.unicodeScalars))")
            #expect(Identifier.trimmed(input) == Self.referenceTrimmed(input), "trimmed of \(Array(input.unicodeScalars))")
            #expect(Array(Identifier.trimmed(input).utf8) == Array(Self.referenceTrimmed(input).utf8))
            for kind in Identifier.kinds {
                guard let identifier = Identifier(kind: kind, value: input) else { continue }
                #expect(identifier.indexInput == Array("\(kind):\(identifier.value)".utf8))
            }
        }
    }
}
