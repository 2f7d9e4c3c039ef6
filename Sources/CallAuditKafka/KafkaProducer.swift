import CRDKafka
import Logging

/// A librdkafka producer for the simulator, the benchmark and tests.
///
/// Not thread-safe: one thread produces. Calls block.
package final class KafkaProducer {
    private let handle: OpaquePointer
    private let callbacks: ClientCallbacks

    package init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        let conf = try configuration.makeNative()
        callbacks = ClientCallbacks(logger: logger)
        callbacks.install(on: conf)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let callbacks = ClientCallbacks.from(opaque) else { return }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                callbacks.deliveries.add(1, ordering: .relaxed)
            } else {
                callbacks.deliveryFailures.add(1, ordering: .relaxed)
            }
        }
        let handle = try makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        self.handle = handle
    }

    deinit {
        rd_kafka_flush(handle, 10_000)
        rd_kafka_destroy(handle)
    }

    /// Messages acknowledged by the broker so far.
    package var delivered: Int { callbacks.deliveries.load(ordering: .relaxed) }
    /// Messages the broker did not take, after librdkafka's own retries.
    package var failed: Int { callbacks.deliveryFailures.load(ordering: .relaxed) }

    /// Enqueues one message; waits while librdkafka's local queue is full.
    package func produce(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?,
        headers: [(key: String, value: [UInt8])] = []
    ) throws(KafkaError) {
        try produce(
            topic: topic, partition: partition, key: key, value: value, rawHeaders: headers.map { (Array($0.key.utf8), $0.value) })
    }

    /// Enqueues one message exactly as given: header names as bytes (any
    /// bytes), null header values, and a producer timestamp (any 64-bit value;
    /// nil lets librdkafka stamp it). What a hostile producer can send.
    package func produce(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?,
        rawHeaders: [(name: [UInt8], value: [UInt8]?)], timestamp: Int64? = nil
    ) throws(KafkaError) {
        while true {
            let error = enqueue(topic: topic, partition: partition, key: key, value: value, headers: rawHeaders, timestamp: timestamp)
            guard let error else { return }
            let code = rd_kafka_error_code(error)
            let text = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw KafkaError(code: code.rawValue, message: "produce: \(text)") }
            rd_kafka_poll(handle, 50)
        }
    }

    private func enqueue(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?, headers: [(name: [UInt8], value: [UInt8]?)],
        timestamp: Int64?
    ) -> OpaquePointer? {
        let nativeHeaders = headers.isEmpty ? nil : rd_kafka_headers_new(headers.count)
        for header in headers {
            header.name.withUnsafeBytes { name in
                let nameSize = name.count
                name.withMemoryRebound(to: CChar.self) { name in
                    if let value = header.value {
                        value.withUnsafeBytes { _ = rd_kafka_header_add(nativeHeaders, name.baseAddress, nameSize, $0.baseAddress, $0.count) }
                    } else {
                        _ = rd_kafka_header_add(nativeHeaders, name.baseAddress, nameSize, nil, 0)
                    }
                }
            }
        }
        let error = topic.withCString { topicPointer in
            (value ?? []).withUnsafeBytes { valueBytes in
                (key ?? []).withUnsafeBytes { keyBytes in
                    var vus: [rd_kafka_vu_t] = []
                    var vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_TOPIC
                    vu.u.cstr = topicPointer
                    vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    vu.u.i = RD_KAFKA_MSG_F_COPY
                    vus.append(vu)
                    if value != nil {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_VALUE
                        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                        vu.u.mem.size = valueBytes.count
                        vus.append(vu)
                    }
                    if key != nil {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_KEY
                        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        vu.u.mem.size = keyBytes.count
                        vus.append(vu)
                    }
                    if let partition {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_PARTITION
                        vu.u.i32 = partition
                        vus.append(vu)
                    }
                    if let timestamp {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        vu.u.i64 = timestamp
                        vus.append(vu)
                    }
                    if let nativeHeaders {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_HEADERS
                        vu.u.headers = nativeHeaders
                        vus.append(vu)
                    }
                    return rd_kafka_produceva(handle, &vus, vus.count)
                }
            }
        }
        // librdkafka owns the headers only once the message is enqueued.
        if error != nil, let nativeHeaders { rd_kafka_headers_destroy(nativeHeaders) }
        rd_kafka_poll(handle, 0)
        return error
    }

    /// Waits until every enqueued message is delivered or failed.
    package func flush(timeoutMilliseconds: Int32 = 60_000) throws(KafkaError) {
        let err = rd_kafka_flush(handle, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "flush") }
    }
}
