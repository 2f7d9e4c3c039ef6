import CallAuditDomain
import Foundation
import Testing

@testable import CallAuditRequests

@Suite("The access export's summary.html shows dates as people read them")
struct ExportSummaryDatesTests {
    @Test("received, answered and every table's date-times read like 23 Nov 2026, 02:03 UTC, with the RFC 3339 value kept on hover")
    func humanDates() throws {
        let export = try JSONParser.parse(Array(#"""
            {"request": {"request_id": "dsr-1", "regime": "gdpr", "received_at": "2026-11-23T02:03:44.750185Z"},
             "generated_at": "2026-11-24T10:00:00Z",
             "calls": [{"started_at": "2026-11-20T10:00:00.5Z", "call_id": "c1"}],
             "recordings": [{"recording_id": "r1", "stored_at": "2026-11-20T10:05:00Z", "exists": true, "retention_until": "2027-11-20"}],
             "accesses": [{"time": "2026-11-21T08:30:00Z", "recording_id": "r1"}], "transfers": []}
            """#.utf8))
        let page = ExportRenderer.html(export)
        #expect(page.contains(#"received <time datetime="2026-11-23T02:03:44.750185Z" title="2026-11-23T02:03:44.750185Z">23 Nov 2026, 02:03 UTC</time>"#))
        #expect(page.contains(#">24 Nov 2026, 10:00 UTC</time></p>"#), "answered")
        #expect(page.contains(#"<td><time datetime="2026-11-20T10:00:00.5Z" title="2026-11-20T10:00:00.5Z">20 Nov 2026, 10:00 UTC</time></td><td>c1</td>"#))
        #expect(page.contains(">21 Nov 2026, 08:30 UTC</time>"))
        #expect(page.contains("<td>2027-11-20</td>"), "a date alone stays as it is")
        let shown = page.replacingOccurrences(of: #"(datetime|title)="[^"]*""#, with: "", options: .regularExpression)
        #expect(shown.range(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"#, options: .regularExpression) == nil)
    }
}
