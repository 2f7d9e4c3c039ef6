import Testing

@testable import CallAuditDomain

@Suite("Times as people read them: 23 Nov 2026, 02:03 UTC")
struct HumanTimeTests {
    @Test(
        "to the minute, in UTC whatever offset it was written with; seconds and microseconds are dropped, not rounded",
        arguments: [
            ("2026-11-23T02:03:44.750185Z", "23 Nov 2026, 02:03 UTC"),
            ("2026-11-23T02:03:59.999999Z", "23 Nov 2026, 02:03 UTC"),
            ("2026-01-05T00:00:00Z", "5 Jan 2026, 00:00 UTC"),
            ("2026-12-31T23:59:00Z", "31 Dec 2026, 23:59 UTC"),
            ("2026-11-23T01:30:00+01:00", "23 Nov 2026, 00:30 UTC"),
            ("2026-03-01T00:30:00+02:00", "28 Feb 2026, 22:30 UTC"),
            ("2028-02-29T12:00:00Z", "29 Feb 2028, 12:00 UTC"),
            ("1969-12-31T23:59:59.5Z", "31 Dec 1969, 23:59 UTC"),
        ])
    func human(_ rfc3339: String, _ expected: String) throws {
        #expect(try #require(Timestamp(rfc3339: rfc3339)).humanUTC == expected)
    }
}
