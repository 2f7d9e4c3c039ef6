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
package final class KafkaConsumer {
    /// Where newly assigned partitions resume, and which of them must not be fetched at all.
    package struct AssignmentPlan: Sendable {
        package var offsets: [TopicPartition: Int64]
        /// Paused as soon as assigned, before the poll that would fetch them returns:
        /// partitions held at a gap, whose stored position must not be read from.
        package var paused: Set<TopicPartition>

        package init(offsets: [TopicPartition: Int64], paused: Set<TopicPartition> = []) {
            self.offsets = offsets
            self.paused = paused
        }
    }

    private let handle: OpaquePointer
    private let callbacks: ClientCallbacks
    private var closed = false
    /// Set when a close gave up waiting for the group: then destroying must not try again.
    private var abandonedClose = false

    package init(
        configuration: KafkaConfiguration,
        logger: Logger,
        assign: @escaping @Sendable ([TopicPartition]) -> AssignmentPlan?,
        revoke: @escaping @Sendable ([TopicPartition]) -> Void
    ) throws(KafkaError) {
        var configuration = configuration
        configuration["enable.auto.commit"] = "false"
        configuration["enable.auto.offset.store"] = "false"
        guard configuration["group.id"] != nil else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, message: "group.id is required for a consumer")
        }
        let conf = try configuration.makeNative()
        callbacks = ClientCallbacks(logger: logger, authGrace: configuration.authGrace, assign: assign, revoke: revoke)
        callbacks.install(on: conf)
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        let handle = try makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        close()
        rd_kafka_destroy_flags(handle, abandonedClose ? Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE) : 0)
    }

    /// An error librdkafka cannot recover from (rejected credentials, say), if one happened.
    package var fatalError: KafkaError? { callbacks.errors.withLock { $0.fatal } }

    /// Waits until the cluster answers a metadata request and has every topic,
    /// so bad brokers, credentials or topic names stop start-up with a reason
    /// instead of leaving an idle consumer. Call before `subscribe`.
    package func awaitCluster(topics: [String], timeout: Duration) throws(KafkaError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, 1, nil, &metadata, 500)
            // Serves the error callback, which is how rejected credentials are reported.
            _ = rd_kafka_poll(handle, 0)
            if let fatal = fatalError { throw fatal }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                let known = Set((0..<Int(metadata.pointee.topic_cnt)).map { String(cString: metadata.pointee.topics[$0].topic) })
                rd_kafka_metadata_destroy(metadata)
                let missing = topics.filter { !known.contains($0) }
                guard missing.isEmpty else {
                    throw KafkaError(code: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue, message: "topic(s) \(missing.joined(separator: ", ")) do not exist on the cluster")
                }
                return
            }
            if ContinuousClock.now >= deadline {
                let last = callbacks.errors.withLock { $0.last }
                // Failed authentication or TLS is retried, not fatal at once; at start-up it is
                // still what to fix, so the error keeps its code (and its remedy).
                let code = last.flatMap { ClientCallbacks.authenticationErrors.contains($0.code) ? $0.code : nil } ?? RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue
                throw KafkaError(
                    code: code,
                    message: "no answer from the cluster within \(timeout)\(last.map { " (last error: \($0.message))" } ?? "")")
            }
        }
    }

    /// Every partition of `topics`, from a fresh metadata request.
    package func partitions(of topics: [String], timeout: Duration = .seconds(5)) throws(KafkaError) -> [TopicPartition] {
        let partitions = try topicPartitions(handle, topics: topics, timeout: timeout)
        // A broker answered a metadata request: authentication works again, even while the
        // topics are idle and no message arrives to say so (ingest asks every 30 s).
        callbacks.noteBrokersAnswered()
        return partitions
    }

    /// Starts consuming these partitions at these offsets (nil: from the beginning),
    /// without a consumer group: the caller decides who consumes what. Adds to what is assigned.
    package func assign(_ offsets: [TopicPartition: Int64?]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset ?? callaudit_rd_kafka_offset_beginning()
        }
        if let error = rd_kafka_incremental_assign(handle, list) {
            let kafkaError = KafkaError(code: rd_kafka_error_code(error).rawValue, message: "assign: \(String(cString: rd_kafka_error_string(error)))")
            rd_kafka_error_destroy(error)
            throw kafkaError
        }
    }

    /// The partitions assigned now, by `assign` or by the group.
    package func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(err, context: "assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return (0..<Int(list.pointee.cnt)).map {
            TopicPartition(topic: String(cString: list.pointee.elems[$0].topic), partition: list.pointee.elems[$0].partition)
        }
    }

    /// Moves assigned partitions to these offsets (nil: the beginning); messages
    /// fetched from before the move are not delivered.
    package func seek(_ offsets: [TopicPartition: Int64?], timeout: Duration = .seconds(10)) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset ?? callaudit_rd_kafka_offset_beginning()
        }
        if let error = rd_kafka_seek_partitions(handle, list, Int32(timeout.components.seconds * 1000)) {
            let kafkaError = KafkaError(code: rd_kafka_error_code(error).rawValue, message: "seek: \(String(cString: rd_kafka_error_string(error)))")
            rd_kafka_error_destroy(error)
            throw kafkaError
        }
        for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(list.pointee.elems[index].err, context: "seek \(String(cString: list.pointee.elems[index].topic))[\(list.pointee.elems[index].partition)]")
        }
    }

    /// Stops consuming every assigned partition (what `assign` started).
    package func unassignAll() {
        rd_kafka_assign(handle, nil)
    }

    package func subscribe(_ topics: [String]) throws(KafkaError) {
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
    /// A position outside a partition's retained range is not one of them: see `takeOutOfRange`.
    package func poll(timeoutMilliseconds: Int32) -> KafkaMessage? {
        guard let message = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let err = message.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__PARTITION_EOF { callbacks.noteBrokersAnswered() }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // With auto.offset.reset=error librdkafka stops fetching the partition and says so here,
            // instead of jumping over what the broker no longer has (or never had).
            if err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, let topic = message.pointee.rkt {
                let tp = TopicPartition(topic: String(cString: rd_kafka_topic_name(topic)), partition: message.pointee.partition)
                outOfRange.append(OutOfRange(partition: tp, offset: message.pointee.offset))
                return nil
            }
            if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                callbacks.logger.warning(
                    "kafka consumer error",
                    metadata: ["kafka.error.code": "\(err.rawValue)", "kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
            return nil
        }
        return KafkaMessage(native: message, topic: topicNames.name(of: message.pointee.rkt))
    }

    /// A partition whose position the broker refused as outside its retained range.
    package struct OutOfRange: Sendable {
        package var partition: TopicPartition
        /// The offset librdkafka tried to fetch (negative when it did not say).
        package var offset: Int64
    }

    private var outOfRange: [OutOfRange] = []
    private var topicNames = TopicNames()

    /// The partitions found outside their range since the last call. librdkafka has stopped fetching them.
    package func takeOutOfRange() -> [OutOfRange] {
        defer { outOfRange.removeAll() }
        return outOfRange
    }

    /// Stops fetching these partitions; they stay assigned (either membership).
    package func pause(_ partitions: [TopicPartition]) {
        withList(partitions) { list in
            let err = rd_kafka_pause_partitions(handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { callbacks.logger.error("kafka pause failed: \(String(cString: rd_kafka_err2str(err)))") }
        }
    }

    /// Whether one partition can be assigned or unassigned alone: without a
    /// group (exclusive membership) or with the cooperative protocol; not with an eager group protocol.
    package var assignsIncrementally: Bool { String(cString: rd_kafka_rebalance_protocol(handle)) != "EAGER" }

    /// Starts `partition` afresh at `offset`. After an out-of-range error
    /// librdkafka has stopped the partition's fetcher, which a seek cannot
    /// restart, so it is unassigned and assigned again. Only where
    /// `assignsIncrementally`; else see `replaceAssignment`.
    package func reassign(_ partition: TopicPartition, at offset: Int64) throws(KafkaError) {
        var failure: KafkaError?
        withList([partition]) { list in
            _ = rd_kafka_resume_partitions(handle, list)
            if let error = rd_kafka_incremental_unassign(handle, list) {
                failure = KafkaError(code: rd_kafka_error_code(error).rawValue, message: "unassign \(partition): \(String(cString: rd_kafka_error_string(error)))")
                rd_kafka_error_destroy(error)
                return
            }
            list.pointee.elems[0].offset = offset
            if let error = rd_kafka_incremental_assign(handle, list) {
                failure = KafkaError(code: rd_kafka_error_code(error).rawValue, message: "assign \(partition): \(String(cString: rd_kafka_error_string(error)))")
                rd_kafka_error_destroy(error)
            }
        }
        if let failure { throw failure }
    }

    /// Replaces the whole assignment, every partition starting at its offset (nil: the beginning):
    /// how a partition is started afresh under an eager group protocol.
    package func replaceAssignment(_ offsets: [TopicPartition: Int64?]) throws(KafkaError) {
        var err = RD_KAFKA_RESP_ERR_NO_ERROR
        withList(Array(offsets.keys)) { list in
            _ = rd_kafka_resume_partitions(handle, list)
            for i in 0..<Int(list.pointee.cnt) {
                let tp = TopicPartition(topic: String(cString: list.pointee.elems[i].topic), partition: list.pointee.elems[i].partition)
                list.pointee.elems[i].offset = (offsets[tp] ?? nil) ?? callaudit_rd_kafka_offset_beginning()
            }
            err = rd_kafka_assign(handle, list)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "assign") }
    }

    /// A partition's low and high watermarks (the oldest offset kept, and the next one to be written), asked of its leader.
    package func watermarks(of partition: TopicPartition, timeout: Duration = .seconds(5)) throws(KafkaError) -> (low: Int64, high: Int64) {
        try queryWatermarks(handle, partition, timeout: timeout)
    }

    private func withList(_ partitions: [TopicPartition], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void) {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        body(list)
    }

    /// Leaves the group cleanly; `revoke` runs for the current assignment.
    /// Gives up after `timeout` (brokers unreachable, say): the group then
    /// notices the member gone after its session timeout.
    package func close(timeout: Duration = .seconds(3)) {
        guard !closed else { return }
        closed = true
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        if let error = rd_kafka_consumer_close_queue(handle, queue) {
            callbacks.logger.warning("kafka consumer close failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_error_string(error)))"])
            rd_kafka_error_destroy(error)
            abandonedClose = true
            return
        }
        let deadline = ContinuousClock.now + timeout
        while rd_kafka_consumer_closed(handle) == 0 {
            guard ContinuousClock.now < deadline else {
                callbacks.logger.warning("kafka consumer did not leave its group in time; closing anyway")
                abandonedClose = true
                return
            }
            // Served as events: the queue also carries ops no callback takes (the close's own end).
            guard let event = rd_kafka_queue_poll(queue, 100) else { continue }
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE {
                // Commits the batch in flight before the partitions go.
                rebalanceCallback(
                    rk: handle, err: rd_kafka_event_error(event), partitions: rd_kafka_event_topic_partition_list(event),
                    opaque: callbacks.opaque)
            }
            rd_kafka_event_destroy(event)
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
        guard let plan = callbacks.assign?(topicPartitions) else {
            // Where to resume is unknown: consume nothing rather than guess.
            callbacks.logger.error("partitions not taken: their stored positions could not be read")
            if !cooperative { rd_kafka_assign(rk, nil) }
            return
        }
        for i in 0..<Int(partitions.pointee.cnt) {
            let tp = topicPartitions[i]
            partitions.pointee.elems[i].offset = plan.offsets[tp] ?? callaudit_rd_kafka_offset_beginning()
        }
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) { logAndDestroy(error, callbacks) }
        } else {
            let result = rd_kafka_assign(rk, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { callbacks.logger.error("kafka assign failed: \(result.rawValue)") }
        }
        // Before poll returns, so nothing of a held partition is fetched from its stored position.
        let held = topicPartitions.filter { plan.paused.contains($0) }
        if !held.isEmpty {
            let list = rd_kafka_topic_partition_list_new(Int32(held.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for tp in held { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
            let err = rd_kafka_pause_partitions(rk, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { callbacks.logger.error("kafka pause failed: \(String(cString: rd_kafka_err2str(err)))") }
        }
        callbacks.logger.info(
            "partitions assigned", metadata: ["kafka.partitions": "\(topicPartitions.count)", "kafka.assignment": "\(topicPartitions.summary)"])
    default:
        callbacks.revoke?(topicPartitions)
        // A partition held at a gap is paused; whoever is assigned it next must fetch it (and find the gap) afresh.
        _ = rd_kafka_resume_partitions(rk, partitions)
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { logAndDestroy(error, callbacks) }
        } else {
            rd_kafka_assign(rk, nil)
        }
        callbacks.logger.info(
            "partitions revoked", metadata: ["kafka.partitions": "\(topicPartitions.count)", "kafka.assignment": "\(topicPartitions.summary)"])
    }
}

private func logAndDestroy(_ error: OpaquePointer, _ callbacks: ClientCallbacks) {
    callbacks.logger.error("kafka rebalance failed: \(String(cString: rd_kafka_error_string(error)))")
    rd_kafka_error_destroy(error)
}
