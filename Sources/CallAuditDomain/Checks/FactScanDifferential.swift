/// `FactScanner` against the tree (`FactEvent(JSONParser.parse(json))?.judged`),
/// the reference, on any stored text: when the scanner decides, the tree parses
/// the text and makes the same `FactEvent` (its `data` pruned to what
/// compliance judges, `JudgedMembers`), or turns it down as well; when the
/// scanner is unsure, the tree decides (the caller's fall-back).
///
/// Shared by the scanner's differential tests over the corpus, the simulator's
/// and the hostile producers' stored forms, and edited copies of them.
package enum FactScanDifferential {
    /// Checks one stored text; true when the scanner decided it (for coverage counts).
    @discardableResult
    package static func check(_ json: String) throws(PropertyViolation) -> Bool {
        let scanned = FactScanner.scan(json)
        if scanned == .unsure { return false }
        guard let tree = try? JSONParser.parse(json) else {
            throw PropertyViolation("the scanner decides only text the tree parser accepts")
        }
        let expected = FactEvent(tree).map { FactScan.event($0.judged) } ?? .notAFact
        try PropertyViolation.require(scanned == expected, "the scanner gives the tree's FactEvent")
        return true
    }

    /// Checks `canonical` and copies of it a superuser might have made: every
    /// prefix, and each byte in turn replaced by one of a few that change the
    /// syntax (quotes, escapes, brackets, separators, whitespace, digits).
    package static func checkEdits(of canonical: [UInt8]) throws(PropertyViolation) {
        for end in 0...canonical.count { try check(String(decoding: canonical[..<end], as: UTF8.self)) }
        for offset in canonical.indices {
            for byte in editBytes {
                var edited = canonical
                edited[offset] = byte
                try check(String(decoding: edited, as: UTF8.self))
            }
        }
    }

    private static let editBytes = Array("\"\\{}[],: 0-.eZ".utf8)
}
