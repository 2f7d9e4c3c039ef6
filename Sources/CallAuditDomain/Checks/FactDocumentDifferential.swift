/// A fact document's scanner (`scanned`) against the tree
/// (`init(document: JSONParser.parse(text))`), the reference, on any stored
/// text: when the scanner decides, the tree reads the same facts, string for
/// string byte-identical; when the tree throws, the scanner did not decide.
///
/// Shared by the scanner's tests over the writers' documents and edited copies of them.
package enum FactDocumentDifferential {
    /// Checks one stored text; true when the scanner decided it (for coverage counts).
    @discardableResult
    package static func check<Facts: FactDocument & Equatable>(_ text: String, as _: Facts.Type) throws(PropertyViolation) -> Bool {
        guard let scanned = Facts.scanned(text) else { return false }
        guard let tree = try? JSONParser.parse(text), let expected = try? Facts(document: tree) else {
            throw PropertyViolation("the scanner decides only documents the tree reads")
        }
        try PropertyViolation.require(scanned == expected, "the scanner gives the tree's facts")
        try PropertyViolation.require(
            FactScanDifferential.texts(of: scanned) == FactScanDifferential.texts(of: expected), "the scanner gives the tree's facts, byte for byte")
        return true
    }

    /// Checks `facts`' document as written, then every edit of it
    /// (`StoredEdits`). The scanner must decide the document as written unless
    /// a string in it needed an escape, and read back what was written.
    package static func checkWritten<Facts: FactDocument & Equatable>(_ facts: Facts) throws(PropertyViolation) {
        let text = facts.documentText
        let escaped = FactScanDifferential.texts(of: facts).joined().contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        try PropertyViolation.require(try check(text, as: Facts.self) != escaped, "the scanner decides what the writer writes without escapes")
        try PropertyViolation.require(Facts.scanned(text).map { $0 == facts } ?? true, "the scanner reads back what was written")
        try StoredEdits.forEach(of: Array(text.utf8)) { (edited) throws(PropertyViolation) in try check(edited, as: Facts.self) }
    }
}
