import Testing

@testable import CallAuditDomain

/// The one-pass decoder checks the plausible window on offsets it takes once
/// from the limits; the reference adds the limits' `Duration`s to now on each
/// event. Both must draw the line at the same microsecond.
@Suite("The one-pass decoder's plausible window, to the microsecond")
struct OnePassPlausibleTimeTests {
    private static func event(at time: Timestamp) -> IncomingMessage {
        let text = #"{"specversion":"1.0","id":"e-1","source":"urn:pbx:eu-1","type":"call.ended","time":"\#(time.rfc3339)","data":{"call_id":"c1"}}"#
        return IncomingMessage(value: Array(text.utf8))
    }

    @Test("one microsecond either side of each edge, with limits that are not whole microseconds: the reference's verdict, and the fast path inside")
    func edges() {
        let now = Timestamp(rfc3339: "2026-11-26T12:00:00.250001Z")!
        let limits = [
            DecodingLimits(),
            DecodingLimits(maximumAge: .seconds(365 * 86_400) + .nanoseconds(1_500), maximumLead: .seconds(3_600) + .nanoseconds(999)),
            DecodingLimits(maximumAge: .milliseconds(1), maximumLead: .zero),
        ]
        for limit in limits {
            let reference = EventDecoder(limits: limit, clock: { now })
            let fast = OnePassDecoder(reference: reference)
            for edge in [now.adding(.zero - limit.maximumAge), now.adding(limit.maximumLead)] {
                for step: Int64 in [-1, 0, 1] {
                    let time = Timestamp(microseconds: edge.microseconds + step)
                    let message = Self.event(at: time)
                    let expected = try? reference.decode(message).get()
                    let inside = time >= now.adding(.zero - limit.maximumAge) && time <= now.adding(limit.maximumLead)
                    #expect((expected != nil) == inside, "\(time.rfc3339) against \(limit)")
                    #expect(fast.scan(message) == inside, "\(time.rfc3339) against \(limit)")
                    #expect((try? fast.decode(message).get())?.canonical == expected?.canonical, "\(time.rfc3339) against \(limit)")
                }
            }
        }
    }
}
