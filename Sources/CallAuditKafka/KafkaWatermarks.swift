import CRDKafka
import Logging

/// Reads the partitions of topics and their watermarks, for lag and gaps: a
/// client of its own (no group, consumes nothing), so the ingest consumer's
/// polling thread is never touched. Queries block; call from a thread of its own.
package final class KafkaWatermarks: @unchecked Sendable {
    private let handle: OpaquePointer
    private let callbacks: ClientCallbacks

    package init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        var configuration = configuration
        // Only what a metadata and offsets client needs: no group, no commits.
        for key in ["group.id", "group.instance.id", "enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset",
                    "session.timeout.ms", "heartbeat.interval.ms", "fetch.wait.max.ms", "queued.min.messages", "partition.assignment.strategy"] {
            configuration[key] = nil
        }
        configuration["client.id"] = "callaudit-lag"
        let conf = try configuration.makeNative()
        callbacks = ClientCallbacks(logger: logger)
        callbacks.install(on: conf)
        handle = try makeHandle(RD_KAFKA_PRODUCER, conf: conf)
    }

    deinit { rd_kafka_destroy(handle) }

    /// Every partition of `topics` with its high watermark (the offset the next message will get).
    /// Throws when the cluster does not answer within `timeout` per request.
    package func highWatermarks(topics: [String], timeout: Duration) throws(KafkaError) -> [TopicPartition: Int64] {
        try watermarks(topics: topics, timeout: timeout).mapValues(\.high)
    }

    /// Every partition of `topics` with its low watermark (the oldest offset it still keeps) and its high one.
    package func watermarks(topics: [String], timeout: Duration) throws(KafkaError) -> [TopicPartition: Watermarks] {
        var result: [TopicPartition: Watermarks] = [:]
        for tp in try topicPartitions(handle, topics: topics, timeout: timeout) {
            let (low, high) = try queryWatermarks(handle, tp, timeout: timeout)
            result[tp] = Watermarks(low: low, high: high)
        }
        return result
    }
}

/// The offsets a partition holds: `low` up to, not including, `high`.
package struct Watermarks: Sendable, Equatable {
    package var low: Int64
    package var high: Int64

    package init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// Whether reading can resume at `offset`: anything from the oldest kept up to the next to be written.
    package func contains(_ offset: Int64) -> Bool { offset >= low && offset <= high }
}

/// Asks the partition's leader for its watermarks.
func queryWatermarks(_ handle: OpaquePointer, _ tp: TopicPartition, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
    let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    var low: Int64 = 0
    var high: Int64 = 0
    let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, milliseconds)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "watermarks of \(tp)") }
    return (low, high)
}

/// A stored position outside what its partition holds: the messages between
/// them can never be read. Measured, not guessed: from PostgreSQL's stored
/// position and Kafka's watermarks.
package struct RetentionGap: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// Retention removed messages before ingest read them (an outage longer than retention).
        case belowLowWatermark = "below_low_watermark"
        /// The position is past the partition's end: the topic was recreated or truncated.
        case beyondHighWatermark = "beyond_high_watermark"
    }

    package var partition: TopicPartition
    package var storedOffset: Int64
    package var watermarks: Watermarks

    /// Nil when ingest can resume at `storedOffset`.
    package init?(partition: TopicPartition, storedOffset: Int64, watermarks: Watermarks) {
        guard !watermarks.contains(storedOffset) else { return nil }
        self.partition = partition
        self.storedOffset = storedOffset
        self.watermarks = watermarks
    }

    package var kind: Kind { storedOffset < watermarks.low ? .belowLowWatermark : .beyondHighWatermark }

    /// The offsets lost, from (inclusive) to (exclusive): those retention removed unread,
    /// or those the store counts as read that the partition no longer has.
    package var lostOffsets: Range<Int64> {
        switch kind {
        case .belowLowWatermark: storedOffset..<watermarks.low
        case .beyondHighWatermark: watermarks.high..<storedOffset
        }
    }

    /// The size of the gap, in messages (offsets).
    package var messages: Int64 { Int64(lostOffsets.count) }

    /// Where ingest resumes once the gap is accepted: the oldest message the partition keeps.
    /// After a recreated topic that is its beginning; what was already stored is found stored again, not doubled.
    package var resumeOffset: Int64 { watermarks.low }
}
