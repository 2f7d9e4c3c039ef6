import CRDKafka

/// A consumed message, copied out of librdkafka's buffers.
package struct KafkaMessage: Sendable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    /// The message timestamp (create or log-append time), milliseconds since the epoch, if the broker gave one.
    package var timestampMilliseconds: Int64?
    package var key: [UInt8]?
    package var headers: [(key: String, value: [UInt8]?)]
    package var value: [UInt8]?

    package init(
        topic: String, partition: Int32, offset: Int64, timestampMilliseconds: Int64? = nil, key: [UInt8]? = nil,
        headers: [(key: String, value: [UInt8]?)] = [], value: [UInt8]?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMilliseconds = timestampMilliseconds
        self.key = key
        self.headers = headers
        self.value = value
    }

    init(native message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let m = message.pointee
        topic = String(cString: rd_kafka_topic_name(m.rkt))
        partition = m.partition
        offset = m.offset
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        timestampMilliseconds = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        headers = KafkaMessage.headers(of: message)
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [(key: String, value: [UInt8]?)] {
        var native: OpaquePointer?
        guard rd_kafka_message_headers(message, &native) == RD_KAFKA_RESP_ERR_NO_ERROR, let native else { return [] }
        var result: [(key: String, value: [UInt8]?)] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(native, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { break }
            result.append((key: String(cString: name!), value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }
}
