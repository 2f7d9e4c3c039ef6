import Testing

@testable import CallAuditRendering

@Suite("CSV cells a spreadsheet could evaluate are neutralised (OWASP CSV injection)")
struct CSVTests {
    @Test(
        "a cell beginning with =, +, -, @, tab, carriage return or their full-width forms gets a leading quote inside a quoted field",
        arguments: [
            (#"=HYPERLINK("http://example.invalid","open")"#, #""'=HYPERLINK(""http://example.invalid"",""open"")""#),
            ("+1+cmd|' /C calc'!A0", "\"'+1+cmd|' /C calc'!A0\""),
            ("-2+3", "\"'-2+3\""),
            ("@SUM(A1:A9)", "\"'@SUM(A1:A9)\""),
            ("\t=1", "\"'\t=1\""),
            ("\r=1", "\"'\r=1\""),
            ("\u{FF1D}1+1", "\"'\u{FF1D}1+1\""),
        ])
    func neutralisesFormulas(_ value: String, _ expected: String) {
        #expect(CSV.field(value) == expected)
    }

    @Test("legitimate values that begin like a formula, a negative number and an E.164 phone number, are prefixed too")
    func prefixesNumbersAndPhones() {
        #expect(CSV.field("-12.5") == "\"'-12.5\"")
        #expect(CSV.field("+14155550100") == "\"'+14155550100\"")
    }

    @Test("ordinary cells are left as they were: plain, or quoted for commas, quotes and line breaks")
    func leavesOrdinaryCells() {
        #expect(CSV.field("call-42") == "call-42")
        #expect(CSV.field("2026-11-23T10:00:00Z") == "2026-11-23T10:00:00Z")
        #expect(CSV.field("a, b") == "\"a, b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("a=b") == "a=b", "only the first character matters")
        #expect(CSV.field("") == "")
    }

    @Test("removing one leading quote from every cell that begins with one gives back exactly the stored value")
    func reversible() {
        for value in ["=1+1", "'=1+1", "'plain", "''", "+1415", "-3", "plain", "", "@x", "\t"] {
            let neutral = CSV.neutralised(value)
            let read = neutral.hasPrefix("'") ? String(neutral.dropFirst()) : neutral
            #expect(read == value, "\(value)")
        }
    }

    @Test("tables neutralise every row; the header stays as written")
    func tables() {
        #expect(CSV.table(["call_id", "detail"], [["=cmd", "-1"]]) == "call_id,detail\n\"'=cmd\",\"'-1\"\n")
    }
}
