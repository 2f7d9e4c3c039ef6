extension Timestamp {
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `23 Nov 2026, 02:03 UTC`: the time as pages for people show it, to the
    /// minute (seconds and their fraction dropped, not rounded), always in UTC
    /// and saying so. JSON and CSV keep `rfc3339`; HTML shows both (`HTMLPage.time`).
    package var humanUTC: String {
        guard Timestamp.representable.contains(self) else { return rfc3339 }
        let time = civil
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(time.day) \(Self.monthNames[time.month - 1]) \(time.year), \(twoDigits(time.hour)):\(twoDigits(time.minute)) UTC"
    }
}
