import CallAuditDomain
import Foundation
import CallAuditQueries
@testable import CallAuditReports
import CallAuditSigning
import Testing

@Suite("Report renderers")
struct ReportRendererTests {
    private let signature = DetachedSignature(keyID: "key-<1>", bytes: [1, 2, 3])

    @Test("the HTML page escapes every value the producers or operators chose")
    func htmlEscapes() throws {
        let page = ReportRenderer.html(try ReportDocument(decoding: try Golden.report), signature: signature, sha256: String(repeating: "a", count: 64))
        #expect(!page.contains("<script>alert(1)</script>"))
        #expect(page.contains("Recording started &lt;script&gt;alert(1)&lt;/script&gt; before consent &amp; notice"))
        #expect(page.contains("=ops &lt;b&gt;lead&lt;/b&gt; (ops)"), "who accepted a gap is escaped too")
        #expect(page.contains("key <code>key-&lt;1&gt;</code>"))
        #expect(page.contains("role &quot;trainee&quot;"))
        // The page's own markup and script are there, once.
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.components(separatedBy: "<script>").count == 2)
    }

    @Test("the HTML page shows the summary, every day, the gaps first, and the changes")
    func htmlContent() throws {
        let page = ReportRenderer.html(try ReportDocument(decoding: try Golden.report), signature: signature, sha256: "")
        #expect(page.contains("<title>CallAudit report week-2026-W48 v2</title>"))
        #expect(page.contains("id=\"gaps-banner\">The evidence has 2 gap(s)"))
        #expect(page.range(of: "gaps-banner")!.lowerBound < page.range(of: "daily-chart")!.lowerBound)
        #expect(page.components(separatedBy: "<rect class=\"bar recorded\"").count == 8, "seven days, each with a bar")
        #expect(page.contains("<td>gdpr</td><td>6</td><td>5</td><td>83.3 %</td>"))
        #expect(page.contains("<td>trainee</td><td>no</td>"), "role allowed reads yes or no")
        #expect(page.contains("Changes since version 1") && page.contains("<td>withdrawn</td><td>RETENTION_EXCEEDED</td>"))
        #expect(page.contains("<td>calls[0]</td><td>7–9</td><td>2</td><td>beyond_high_watermark</td><td></td>"), "a gap without a window start")
    }

    @Test("dates read like 23 Nov 2026, 02:03 UTC, each keeping its RFC 3339 value in datetime and title; the CSV keeps RFC 3339")
    func humanDates() throws {
        let page = ReportRenderer.html(try ReportDocument(decoding: try Golden.report), signature: signature, sha256: "")
        #expect(page.contains(#"generated <time datetime="2026-12-03T00:01:00.123456Z" title="2026-12-03T00:01:00.123456Z">3 Dec 2026, 00:01 UTC</time>"#))
        #expect(page.contains(#"<time datetime="2026-11-23T00:00:00Z" title="2026-11-23T00:00:00Z">23 Nov 2026, 00:00 UTC</time> → "#))
        #expect(page.contains(#"<td><time datetime="2026-11-24T09:00:00Z" title="2026-11-24T09:00:00Z">24 Nov 2026, 09:00 UTC</time></td>"#), "a gap's acceptance")
        // No date-time is left in RFC 3339 outside the attributes that keep it.
        let shown = page.replacingOccurrences(of: #"(datetime|title)="[^"]*""#, with: "", options: .regularExpression)
        #expect(shown.range(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"#, options: .regularExpression) == nil)
        let csv = String(decoding: ReportRenderer.csv(try ReportDocument(decoding: try Golden.report)), as: UTF8.self)
        #expect(csv.contains("2026-11-24T09:00:00Z") && !csv.contains(" UTC,"))
    }

    @Test("an old report without gaps or changes renders, saying no gaps are recorded")
    func htmlOfUnnamedReport() throws {
        let page = try ReportRenderer.html(try Golden.unnamedReport, signature: signature, sha256: "")
        #expect(!page.contains("gaps-banner") && page.contains("None recorded."))
        #expect(!page.contains("Changes since"))
    }

    @Test("CSV: one row per finding and per gap, with the findings listing's columns")
    func csvRows() throws {
        let csv = String(decoding: ReportRenderer.csv(try ReportDocument(decoding: try Golden.report)), as: UTF8.self)
        let header = FindingRow.columns.joined(separator: ",")
        #expect(csv.hasPrefix(header + "\n"))
        #expect(csv.contains(",EVIDENCE_GAP,high,accepted,"))
        #expect(csv.contains("calls[2] offsets 100 to 140 (exclusive): 40 message(s) never ingested; Kafka's retention removed them"))
        #expect(csv.contains("evt-1 evt-2"), "evidence as space-separated ids")
        #expect(try ReportRenderer.csv(try Golden.report) == ReportRenderer.csv(try ReportDocument(decoding: try Golden.report)))
    }

    @Test("CSV: a cell starting with = + - @ tab or carriage return is neutralised, in findings and in gaps")
    func csvNeutralises() throws {
        let csv = String(decoding: ReportRenderer.csv(try ReportDocument(decoding: try Golden.report)), as: UTF8.self)
        #expect(csv.contains(#""'=HYPERLINK(""http://example.invalid"")""#), "= in a call id")
        #expect(csv.contains("\"'+1 access by role \"\"trainee\"\"\nsecond line\""), "+ in a detail, with its line break quoted")
        #expect(csv.contains("\"'-3 days past the deadline\""), "- in a detail")
        #expect(csv.contains("accepted by =ops <b>lead</b> (ops)"), "inside a sentence = is not at a cell's start")
        // A finding whose detail starts with a tab or carriage return.
        var document = try ReportDocument(decoding: try Golden.report)
        document.findings[0].detail = "\t=1"
        document.findings[1].detail = "\r=2"
        document.findings[2].detail = "@SUM(A1)"
        let edited = String(decoding: ReportRenderer.csv(document), as: UTF8.self)
        #expect(edited.contains("\"'\t=1\"") && edited.contains("\"'\r=2\"") && edited.contains("\"'@SUM(A1)\""))
        // No line of the file starts a formula.
        for line in edited.split(separator: "\n") { #expect(!["=", "+", "-", "@"].contains(line.first.map(String.init) ?? "")) }
    }
}
