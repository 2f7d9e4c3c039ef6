/// What the decoder accepts beyond the contract's shapes. One set of limits,
/// the operator's, for ingest and for dead-letter replay alike.
package struct DecodingLimits: Sendable, Equatable {
    /// The one message-size limit: larger messages (value and headers) are
    /// dead-lettered as `oversize` without being parsed. Default 256 KiB.
    package var maximumBytes: Int
    /// Event times older than this before now are dead-lettered as `bad_time`. Default 20 years.
    package var maximumAge: Duration
    /// Event times more than this after now are dead-lettered as `bad_time`
    /// (a producer's clock or a typo in the year). Default 1 day.
    package var maximumLead: Duration

    package static let defaultMaximumBytes = 256 * 1024

    package init(
        maximumBytes: Int = DecodingLimits.defaultMaximumBytes,
        maximumAge: Duration = .seconds(20 * 366 * 86_400),
        maximumLead: Duration = .seconds(86_400)
    ) {
        self.maximumBytes = maximumBytes
        self.maximumAge = maximumAge
        self.maximumLead = maximumLead
    }

    /// Rejects an event time outside [now - maximumAge, now + maximumLead].
    package func checkPlausible(_ time: Timestamp, now: Timestamp) throws(Rejection) {
        if time < now.adding(.zero - maximumAge) {
            throw Rejection(.badTime, "time is more than \(maximumAge.wholeSeconds / 86_400) days in the past")
        }
        if time > now.adding(maximumLead) {
            throw Rejection(.badTime, "time is more than \(maximumLead.wholeSeconds / 3_600) hours in the future")
        }
    }
}
