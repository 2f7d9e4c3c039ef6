import CallAuditDomain
import Testing

@testable import CallAuditStore

/// A batch's events per topic, counted by runs: the same counts as a
/// dictionary bumped once per event (what it replaced).
@Suite("Events offered per topic, counted by runs")
struct TopicCountsTests {
    private static let event = DecodedEvent(
        source: "urn:test", id: "e-1", typeName: "call.ended", time: Timestamp(seconds: 1_700_000_000), stream: "call-1",
        document: ["id": .string("e-1")])

    @Test("random batches: runs, topics coming back, own events (no topic) among them")
    func sameAsPerEventCounts() {
        var random = SystemRandomNumberGenerator()
        let topics = ["calls", "recordings", "calls-eu", String(repeating: "long-topic-name-", count: 3)]
        for _ in 0..<500 {
            var topic: String? = topics[0]
            let events = (0..<Int.random(in: 0...80, using: &random)).map { offset -> IncomingEvent in
                if Int.random(in: 0..<6, using: &random) == 0 {
                    topic = Int.random(in: 0..<5, using: &random) == 0 ? nil : topics.randomElement(using: &random)!
                }
                return IncomingEvent(event: Self.event, origin: topic.map { KafkaOrigin(topic: $0, partition: 0, offset: Int64(offset)) })
            }
            var reference: [String: Int] = [:]
            for case let origin? in events.map(\.origin) { reference[origin.topic, default: 0] += 1 }
            #expect(TopicCounts.of(events) == reference)
        }
    }
}
