import CallAuditKafka
import CallAuditStore
import Testing

@testable import CallAuditIngest

/// Where ingest resumes: the run of one partition kept aside must give the
/// same points as a dictionary written on every message (what it replaced).
@Suite("Next offsets of a pending batch")
struct NextOffsetsTests {
    @Test("random runs over topics and partitions, offsets going back too (a seek), give the dictionary's points")
    func sameAsADictionary() {
        var random = SystemRandomNumberGenerator()
        let topics = ["calls", "recordings", "calls-eu"]
        for _ in 0..<500 {
            var offsets = NextOffsets()
            var reference: [TopicPartition: Int64] = [:]
            var (topic, partition) = (topics[0], Int32(0))
            for _ in 0..<Int.random(in: 0...60, using: &random) {
                // Mostly runs of one partition, as librdkafka hands them out.
                if Int.random(in: 0..<4, using: &random) == 0 {
                    (topic, partition) = (topics.randomElement(using: &random)!, Int32.random(in: 0...3, using: &random))
                }
                let offset = Int64.random(in: 0...1_000, using: &random)
                offsets.note(topic: topic, partition: partition, offset: offset)
                reference[TopicPartition(topic: topic, partition: partition)] = offset + 1
                if Int.random(in: 0..<20, using: &random) == 0 {
                    #expect(Set(offsets.resumePoints()) == Self.points(reference), "read in the middle of a batch")
                }
            }
            #expect(Set(offsets.resumePoints()) == Self.points(reference))
            offsets.removeAll()
            #expect(offsets.resumePoints().isEmpty)
        }
    }

    @Test("a partition read again after another resumes after its last message, not its first run's")
    func partitionRevisited() {
        var offsets = NextOffsets()
        offsets.note(topic: "t", partition: 0, offset: 5)
        offsets.note(topic: "t", partition: 1, offset: 9)
        offsets.note(topic: "t", partition: 0, offset: 6)
        offsets.note(topic: "u", partition: 0, offset: 2)
        #expect(
            Set(offsets.resumePoints()) == [
                KafkaResumePoint(topic: "t", partition: 0, nextOffset: 7), KafkaResumePoint(topic: "t", partition: 1, nextOffset: 10),
                KafkaResumePoint(topic: "u", partition: 0, nextOffset: 3),
            ])
    }

    private static func points(_ reference: [TopicPartition: Int64]) -> Set<KafkaResumePoint> {
        Set(reference.map { KafkaResumePoint(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) })
    }
}
