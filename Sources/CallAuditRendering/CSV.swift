/// CSV as the reports, the access exports and `callaudit findings` write it for people.
package enum CSV {
    /// One field, quoted when it holds a comma, a quote or a line break.
    ///
    /// A field a spreadsheet would take for a formula is neutralised first
    /// (OWASP, "CSV Injection"): producers choose call ids, actor ids and
    /// details, and a cell such as `=HYPERLINK(…)` is evaluated when the file
    /// is opened, quoted or not. Such a field gets a leading single quote and
    /// is always quoted. See `neutralised(_:)` for which fields, and how a
    /// reader gets the value back.
    package static func field(_ value: String) -> String {
        let safe = neutralised(value)
        let quote = safe.utf8.count != value.utf8.count
            || safe.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        return quote ? "\"" + safe.replacing("\"", with: "\"\"") + "\"" : safe
    }

    /// `value` with a single quote in front when its first character is one a
    /// spreadsheet starts a formula or command with: `=`, `+`, `-`, `@`, a tab,
    /// a carriage return, or their full-width forms (`＝ ＋ － ＠`, which some
    /// locales' spreadsheets accept too). Negative numbers and E.164 phone
    /// numbers (`+1415…`) get the quote as well, as OWASP advises: a rule
    /// that looked at what follows could be bypassed (`-1+cmd|…`).
    ///
    /// A value that already begins with a single quote gets one more, so the
    /// rule can be undone exactly: a reader removes one leading `'` from every
    /// cell that begins with one, and has the value as stored.
    package static func neutralised(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, formulaStarts.contains(first) else { return value }
        return "'" + value
    }

    /// The first characters that make a cell a formula (and the quote itself, to keep the rule reversible).
    private static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}", "'"]

    /// A header line and one line per row.
    package static func table(_ columns: [String], _ rows: [[String]]) -> String {
        ([columns] + rows).map { $0.map(field).joined(separator: ",") + "\n" }.joined()
    }
}
