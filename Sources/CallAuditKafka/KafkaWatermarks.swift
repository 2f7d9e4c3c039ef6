import CRDKafka
import Logging

/// Reads the partitions of topics and their high watermarks, for lag: a
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
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var result: [TopicPartition: Int64] = [:]
        for tp in try topicPartitions(handle, topics: topics, timeout: timeout) {
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, milliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "watermarks of \(tp)") }
            result[tp] = high
        }
        return result
    }
}
