import CallAuditKafka
import Testing

/// Gap arithmetic between a stored position and a partition's watermarks: no broker needed.
@Suite("Retention gaps, measured from positions and watermarks")
struct RetentionGapArithmeticTests {
    private let calls1 = TopicPartition(topic: "calls", partition: 1)

    @Test("a position from the low watermark up to and including the high one can be resumed: no gap")
    func resumablePositions() {
        let watermarks = Watermarks(low: 100, high: 250)
        for offset: Int64 in [100, 101, 249, 250] {
            #expect(RetentionGap(partition: calls1, storedOffset: offset, watermarks: watermarks) == nil, "\(offset)")
        }
        #expect(!watermarks.contains(99) && !watermarks.contains(251))
    }

    @Test("below the low watermark: retention removed what ingest never read, and ingest resumes at the oldest kept")
    func belowLow() throws {
        let gap = try #require(RetentionGap(partition: calls1, storedOffset: 40, watermarks: Watermarks(low: 100, high: 250)))
        #expect(gap.kind == .belowLowWatermark)
        #expect(gap.lostOffsets == 40..<100 && gap.messages == 60)
        #expect(gap.resumeOffset == 100)
    }

    @Test("beyond the high watermark: a recreated topic; the lost offsets are those the store counted as read, and ingest resumes at its beginning")
    func beyondHigh() throws {
        let gap = try #require(RetentionGap(partition: calls1, storedOffset: 1_030, watermarks: Watermarks(low: 0, high: 30)))
        #expect(gap.kind == .beyondHighWatermark && gap.kind.rawValue == "beyond_high_watermark")
        #expect(gap.lostOffsets == 30..<1_030 && gap.messages == 1_000)
        #expect(gap.resumeOffset == 0)
    }
}

@Suite("Kafka configuration, checked as librdkafka checks it")
struct KafkaConfigurationTests {
    @Test("an unknown property or a bad value is refused with librdkafka's message; a good one passes")
    func validation() {
        #expect(throws: KafkaError.self) { try KafkaConfiguration(["no.such.property": "1"]).validate() }
        #expect(throws: KafkaError.self) { try KafkaConfiguration(["session.timeout.ms": "soon"]).validate() }
        #expect(throws: Never.self) { try KafkaConfiguration(["bootstrap.servers": "127.0.0.1:9092", "session.timeout.ms": "6000"]).validate() }
    }

    @Test("a partition reads as topic[partition] wherever it is named")
    func partitionNames() {
        #expect(TopicPartition(topic: "calls", partition: 3).description == "calls[3]")
    }
}
