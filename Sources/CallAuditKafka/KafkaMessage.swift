import CRDKafka
import CallAuditDomain

#if canImport(Glibc)
import Glibc
#endif

/// A consumed message, copied out of librdkafka's buffers.
package struct KafkaMessage: Sendable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    /// The message timestamp as the broker gave it, if it gave one: meant as
    /// milliseconds since the epoch, but any 64-bit value a producer chose.
    package var timestampMilliseconds: Int64?
    /// Whether the timestamp is the producer's (`create_time`) or the broker's (`log_append_time`).
    package var timestampType: KafkaTimestampType?
    package var key: [UInt8]?
    /// In wire order, names as bytes (a name that is not UTF-8 is kept as sent, for dead letters).
    package var headers: MessageHeaders
    package var value: [UInt8]?

    package init(
        topic: String, partition: Int32, offset: Int64, timestampMilliseconds: Int64? = nil, timestampType: KafkaTimestampType? = nil,
        key: [UInt8]? = nil, headers: MessageHeaders = MessageHeaders(), value: [UInt8]?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMilliseconds = timestampMilliseconds
        self.timestampType = timestampType
        self.key = key
        self.headers = headers
        self.value = value
    }

    /// `topic` is the message's topic name, which the consumer reads once while it repeats (`TopicNames`).
    init(native message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let m = message.pointee
        self.topic = topic
        partition = m.partition
        offset = m.offset
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        timestampMilliseconds = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        self.timestampType = switch timestampType {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: .createTime
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: .logAppendTime
        default: nil
        }
        key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        headers = KafkaMessage.headers(of: message)
    }

    /// The headers in wire order, copied into one buffer sized first (one allocation). librdkafka
    /// hands names out as C strings, so a name is read up to its first NUL byte.
    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> MessageHeaders {
        var native: OpaquePointer?
        var headers = MessageHeaders()
        guard rd_kafka_message_headers(message, &native) == RD_KAFKA_RESP_ERR_NO_ERROR, let native else { return headers }
        var (count, size) = (0, 0)
        while case let (name, value)? = header(native, count) {
            size += name.count + (value?.count ?? 0)
            count += 1
        }
        headers.reserve(headers: count, bytes: size)
        for index in 0..<count {
            guard case let (name, value)? = header(native, index) else { break }
            headers.append(name: name, value: value)
        }
        return headers
    }

    /// The header at `index`: its name's bytes (up to its NUL), and its value if it has one.
    private static func header(_ native: OpaquePointer, _ index: Int) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer?)? {
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_all(native, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else { return nil }
        return (UnsafeRawBufferPointer(start: name, count: strlen(name)), value.map { UnsafeRawBufferPointer(start: $0, count: size) })
    }
}

/// Who set a message's timestamp.
package enum KafkaTimestampType: String, Sendable {
    /// The producer's: any value it chose.
    case createTime = "create_time"
    /// The broker's, when the message was appended.
    case logAppendTime = "log_append_time"
}
