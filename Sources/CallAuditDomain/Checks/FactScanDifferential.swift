/// `FactScanner` against the tree (`FactEvent(JSONParser.parse(json))?.judged`),
/// the reference, on any stored text: when the scanner decides, the tree parses
/// the text and makes the same `FactEvent` (a contract event's `data` read
/// into `JudgedData`, field by field), or turns it down as well; when the
/// scanner is unsure, the tree decides (the caller's fall-back).
///
/// Shared by the scanner's differential tests over the corpus, the simulator's
/// and the hostile producers' stored forms, and edited copies of them.
package enum FactScanDifferential {
    /// Checks one stored text; true when the scanner decided it (for coverage counts).
    @discardableResult
    package static func check(_ json: String) throws(PropertyViolation) -> Bool {
        var buffers = FactScanBuffers()
        return try check(json, reusing: &buffers)
    }

    /// The same, and scanned again with `buffers` as earlier scans left them
    /// (a rebuild keeps them across a page): they must change nothing.
    @discardableResult
    package static func check(_ json: String, reusing buffers: inout FactScanBuffers) throws(PropertyViolation) -> Bool {
        let scanned = FactScanner.scan(json)
        let again = FactScanner.scan(json, reusing: &buffers)
        try PropertyViolation.require(again == scanned && texts(of: again) == texts(of: scanned), "buffers kept from earlier scans change nothing")
        if scanned == .unsure { return false }
        guard let tree = try? JSONParser.parse(json) else {
            throw PropertyViolation("the scanner decides only text the tree parser accepts")
        }
        let expected = FactEvent(tree).map { FactScan.event($0.judged) } ?? .notAFact
        try PropertyViolation.require(scanned == expected, "the scanner gives the tree's FactEvent")
        try PropertyViolation.require(texts(of: scanned) == texts(of: expected), "the scanner gives the tree's FactEvent, byte for byte")
        return true
    }

    /// Every string in `value`, in order, as its UTF-8 bytes. `==` on strings is
    /// canonical equivalence, but tables key by bytes: a reader that gave an id
    /// other bytes ("e" + U+0301 for "é") would pass `==` and split a table.
    package static func texts(of value: Any) -> [[UInt8]] {
        var texts: [[UInt8]] = []
        func walk(_ value: Any) {
            if let text = value as? String { return texts.append(Array(text.utf8)) }
            for child in Mirror(reflecting: value).children { walk(child.value) }
        }
        walk(value)
        return texts
    }

    /// Checks `canonical` and copies of it a superuser might have made
    /// (`StoredEdits`). One set of buffers goes through them all, so each
    /// edit is scanned after others that stopped midway.
    package static func checkEdits(of canonical: [UInt8]) throws(PropertyViolation) {
        var buffers = FactScanBuffers()
        try StoredEdits.forEach(of: canonical) { (edited) throws(PropertyViolation) in try check(edited, reusing: &buffers) }
    }
}

/// Copies of stored bytes a superuser might have made: every prefix, and each
/// byte in turn replaced by one of a few that change the syntax (quotes,
/// escapes, brackets, separators, whitespace, digits).
package enum StoredEdits {
    package static func forEach(of canonical: [UInt8], _ body: (String) throws(PropertyViolation) -> Void) throws(PropertyViolation) {
        for end in 0...canonical.count { try body(String(decoding: canonical[..<end], as: UTF8.self)) }
        for offset in canonical.indices {
            for byte in editBytes {
                var edited = canonical
                edited[offset] = byte
                try body(String(decoding: edited, as: UTF8.self))
            }
        }
    }

    private static let editBytes = Array("\"\\{}[],: 0-.eZ".utf8)
}
