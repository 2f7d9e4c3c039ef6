import CRDKafka
import Logging

/// A librdkafka high-level consumer in a consumer group whose positions are owned by the caller.
///
/// Offsets are never committed to Kafka: on every assignment `assign` is asked
/// where each partition resumes (the ingest service answers from PostgreSQL),
/// and `revoke` runs before partitions are given up, so the caller can make
/// its in-flight batch durable first. Both run inside `poll`, on the polling
/// thread. Eager and cooperative rebalance protocols are both handled.
///
/// Not thread-safe: one thread polls. All calls block, so use a dedicated thread.
public final class KafkaConsumer {
    private let handle: OpaquePointer
    private let callbacks: ClientCallbacks
    private var closed = false

    public init(
        configuration: KafkaConfiguration,
        logger: Logger,
        assign: @escaping @Sendable ([TopicPartition]) -> [TopicPartition: Int64],
        revoke: @escaping @Sendable ([TopicPartition]) -> Void
    ) throws(KafkaError) {
        var configuration = configuration
        configuration["enable.auto.commit"] = "false"
        configuration["enable.auto.offset.store"] = "false"
        guard configuration["group.id"] != nil else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, message: "group.id is required for a consumer")
        }
        let conf = try configuration.makeNative()
        callbacks = ClientCallbacks(logger: logger, assign: assign, revoke: revoke)
        callbacks.install(on: conf)
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        let handle = try makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        close()
        rd_kafka_destroy(handle)
    }

    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, callaudit_rd_kafka_partition_ua())
        }
        let err = rd_kafka_subscribe(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "subscribe") }
    }

    /// The next message, or nil when none arrived within the timeout. Consumer
    /// errors (a broker unreachable, say) are logged: librdkafka recovers from them itself.
    public func poll(timeoutMilliseconds: Int32) -> KafkaMessage? {
        guard let message = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let err = message.pointee.err
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                callbacks.logger.warning(
                    "kafka consumer error",
                    metadata: ["kafka.error.code": "\(err.rawValue)", "kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
            return nil
        }
        return KafkaMessage(native: message)
    }

    /// Leaves the group cleanly; `revoke` runs for the current assignment.
    public func close() {
        guard !closed else { return }
        closed = true
        let err = rd_kafka_consumer_close(handle)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            callbacks.logger.warning("kafka consumer close failed", metadata: ["kafka.error.code": "\(err.rawValue)"])
        }
    }
}

private func rebalanceCallback(
    rk: OpaquePointer?, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let partitions, let callbacks = ClientCallbacks.from(opaque) else { return }
    let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    let topicPartitions = [TopicPartition](native: partitions)
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let offsets = callbacks.assign?(topicPartitions) ?? [:]
        for i in 0..<Int(partitions.pointee.cnt) {
            let tp = topicPartitions[i]
            partitions.pointee.elems[i].offset = offsets[tp] ?? callaudit_rd_kafka_offset_beginning()
        }
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) { logAndDestroy(error, callbacks) }
        } else {
            let result = rd_kafka_assign(rk, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { callbacks.logger.error("kafka assign failed: \(result.rawValue)") }
        }
        callbacks.logger.info("partitions assigned", metadata: ["kafka.partitions": "\(topicPartitions.count)"])
    default:
        callbacks.revoke?(topicPartitions)
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { logAndDestroy(error, callbacks) }
        } else {
            rd_kafka_assign(rk, nil)
        }
        callbacks.logger.info("partitions revoked", metadata: ["kafka.partitions": "\(topicPartitions.count)"])
    }
}

private func logAndDestroy(_ error: OpaquePointer, _ callbacks: ClientCallbacks) {
    callbacks.logger.error("kafka rebalance failed: \(String(cString: rd_kafka_error_string(error)))")
    rd_kafka_error_destroy(error)
}
