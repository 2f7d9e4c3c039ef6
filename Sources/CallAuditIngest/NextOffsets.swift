import CallAuditKafka
import CallAuditStore

/// The next offset of every partition the pending batch read from: where
/// ingest resumes once the batch commits. Messages come in runs from one
/// partition (librdkafka hands out a fetch's messages together), so the
/// current run's partition is kept aside and moved into the dictionary only
/// when a message of another partition comes or the points are read: a
/// message costs a comparison of its topic's name, not a hash of it.
struct NextOffsets {
    private var offsets: [TopicPartition: Int64] = [:]
    private var run: (topic: String, partition: Int32, next: Int64)?

    /// `offset` was read from the partition: it resumes after it.
    mutating func note(topic: String, partition: Int32, offset: Int64) {
        if let current = run, current.partition == partition, current.topic == topic {
            run = (current.topic, partition, offset + 1)
            return
        }
        closeRun()
        run = (topic, partition, offset + 1)
    }

    /// One point per partition read from, each after the last message read from it.
    mutating func resumePoints() -> [KafkaResumePoint] {
        closeRun()
        return offsets.map { KafkaResumePoint(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) }
    }

    mutating func removeAll() {
        offsets.removeAll(keepingCapacity: true)
        run = nil
    }

    private mutating func closeRun() {
        guard let current = run else { return }
        offsets[TopicPartition(topic: current.topic, partition: current.partition)] = current.next
        run = nil
    }
}
