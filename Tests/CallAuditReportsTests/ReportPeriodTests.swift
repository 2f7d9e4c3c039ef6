@testable import CallAuditReports
import CallAuditDomain
import Foundation
import Testing

@Suite("Report periods")
struct ReportPeriodTests {
    private let utc = TimeZone(identifier: "UTC")!
    private let berlin = TimeZone(identifier: "Europe/Berlin")!

    private func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test("each scheduled kind has a stable id and its calendar bounds", arguments: [
        (ReportPeriod.Kind.day, "day-2026-11-23", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        (.week, "week-2026-W48", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"),
        (.month, "month-2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        (.quarter, "quarter-2026-Q4", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
    ])
    func calendarPeriods(_ kind: ReportPeriod.Kind, _ id: String, _ start: String, _ end: String) {
        let period = ReportPeriod.containing(at("2026-11-23T15:30:00Z"), kind: kind, zone: utc)
        #expect(period.reportID == id && period.start == at(start) && period.end == at(end) && period.timeZone == "UTC")
    }

    @Test("ISO weeks belong to the year of their Thursday")
    func isoWeeks() {
        #expect(ReportPeriod.containing(at("2027-01-01T12:00:00Z"), kind: .week, zone: utc).reportID == "week-2026-W53")
    }

    @Test("a day in a zone with daylight saving time is 23 or 25 hours long, and named by its local date")
    func daylightSaving() {
        let spring = ReportPeriod.containing(at("2026-03-29T12:00:00Z"), kind: .day, zone: berlin)
        #expect(spring.reportID == "day-2026-03-29" && spring.timeZone == "Europe/Berlin")
        #expect(spring.start == at("2026-03-28T23:00:00Z") && spring.end == at("2026-03-29T22:00:00Z"))
        let autumn = ReportPeriod.containing(at("2026-10-25T12:00:00Z"), kind: .day, zone: berlin)
        #expect(autumn.end.microseconds - autumn.start.microseconds == 25 * 3_600_000_000)
    }

    @Test("closed periods are those whose end lies the close delay before now")
    func closedPeriods() {
        let closed = ReportPeriod.closed(
            .day, since: at("2026-11-20T08:00:00Z"), now: at("2026-11-25T12:00:00Z"), closeDelay: .seconds(72 * 3_600), zone: utc)
        #expect(closed.map(\.reportID) == ["day-2026-11-20", "day-2026-11-21"])
    }

    @Test("a period's days cover it exactly, in its zone")
    func days() {
        let week = ReportPeriod.containing(at("2026-11-25T00:00:00Z"), kind: .week, zone: utc)
        let days = week.days(zone: utc)
        #expect(days.count == 7 && days.first?.start == week.start && days.last?.end == week.end)
        let month = ReportPeriod.containing(at("2026-03-10T00:00:00Z"), kind: .month, zone: berlin)
        #expect(month.days(zone: berlin).count == 31)
    }

    @Test("a custom period gets an id of its own and covers exactly what was asked")
    func custom() {
        let period = ReportPeriod.custom(from: at("2026-11-23T10:00:00Z"), to: at("2026-11-23T11:00:00Z"), timeZone: "UTC")
        #expect(period.kind == .custom && period.reportID.hasPrefix("adhoc-") && period.reportID.count == "adhoc-".count + 12)
        #expect(period.start == at("2026-11-23T10:00:00Z") && period.end == at("2026-11-23T11:00:00Z"))
    }
}
