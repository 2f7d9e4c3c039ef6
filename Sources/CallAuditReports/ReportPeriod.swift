import CallAuditDomain
import Foundation

/// The span a report covers: a calendar day, ISO week, month or quarter in a
/// time zone, or any range asked for on demand.
package struct ReportPeriod: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable, Codable {
        case day, week, month, quarter, custom

        /// The kinds issued on a schedule.
        package static let scheduled: [Kind] = [.day, .week, .month, .quarter]
    }

    package var kind: Kind
    package var start: Timestamp
    package var end: Timestamp
    /// An IANA zone name (`UTC`, `Europe/Berlin`); the calendar periods are its days.
    package var timeZone: String
    /// Stable for a scheduled period (`day-2026-11-23`, `week-2026-W48`, `month-2026-11`, `quarter-2026-Q4`).
    package var reportID: String

    package init(kind: Kind, start: Timestamp, end: Timestamp, timeZone: String, reportID: String) {
        self.kind = kind
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.reportID = reportID
    }

    /// An on-demand range, with an id of its own.
    package static func custom(from start: Timestamp, to end: Timestamp, timeZone: String) -> ReportPeriod {
        ReportPeriod(kind: .custom, start: start, end: end, timeZone: timeZone, reportID: "adhoc-" + String(OwnEventType.newID().prefix(12)))
    }

    /// The `kind` period containing `instant` in `zone`.
    package static func containing(_ instant: Timestamp, kind: Kind, zone: TimeZone) -> ReportPeriod {
        let calendar = Self.calendar(zone)
        let date = Date(timeIntervalSince1970: Double(instant.microseconds) / 1_000_000)
        let component: Calendar.Component
        let startDate: Date
        switch kind {
        case .day, .custom:
            component = .day
            startDate = calendar.startOfDay(for: date)
        case .week:
            component = .weekOfYear
            startDate = calendar.dateInterval(of: .weekOfYear, for: date)!.start
        case .month:
            component = .month
            startDate = calendar.dateInterval(of: .month, for: date)!.start
        case .quarter:
            component = .month
            let month = calendar.component(.month, from: date)
            let monthStart = calendar.dateInterval(of: .month, for: date)!.start
            startDate = calendar.date(byAdding: .month, value: -((month - 1) % 3), to: monthStart)!
        }
        let endDate = calendar.date(byAdding: component, value: kind == .quarter ? 3 : 1, to: startDate)!
        // Foundation names UTC "GMT"; keep the name as configured.
        let name = zone.identifier == "GMT" ? "UTC" : zone.identifier
        return ReportPeriod(
            kind: kind == .custom ? .day : kind, start: timestamp(startDate), end: timestamp(endDate), timeZone: name,
            reportID: id(kind == .custom ? .day : kind, startDate, calendar))
    }

    /// Every `kind` period from the one containing `first` whose end lies at least `closeDelay` before `now`.
    package static func closed(_ kind: Kind, since first: Timestamp, now: Timestamp, closeDelay: Duration, zone: TimeZone) -> [ReportPeriod] {
        var periods: [ReportPeriod] = []
        var period = containing(first, kind: kind, zone: zone)
        while period.end.adding(closeDelay) <= now {
            periods.append(period)
            period = containing(period.end, kind: kind, zone: zone)
        }
        return periods
    }

    /// Each calendar day of the period, for the per-day series.
    package func days(zone: TimeZone) -> [ReportPeriod] {
        var days: [ReportPeriod] = []
        var day = Self.containing(start, kind: .day, zone: zone)
        while day.start < end {
            days.append(day)
            day = Self.containing(day.end, kind: .day, zone: zone)
        }
        return days
    }

    private static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = zone
        return calendar
    }

    private static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(microseconds: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    private static func id(_ kind: Kind, _ start: Date, _ calendar: Calendar) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .weekOfYear, .yearForWeekOfYear], from: start)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        // ISO 8601 years have four digits: the year 379 is 0379.
        func four(_ n: Int) -> String { String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }
        switch kind {
        case .day, .custom: return "day-\(four(c.year!))-\(two(c.month!))-\(two(c.day!))"
        case .week: return "week-\(four(c.yearForWeekOfYear!))-W\(two(c.weekOfYear!))"
        case .month: return "month-\(four(c.year!))-\(two(c.month!))"
        case .quarter: return "quarter-\(four(c.year!))-Q\((c.month! - 1) / 3 + 1)"
        }
    }
}
