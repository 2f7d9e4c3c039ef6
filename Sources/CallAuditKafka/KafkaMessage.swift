import CRDKafka

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
    /// Header names as text: a name that is not UTF-8 has its bad bytes replaced (see `rawHeaderNames`).
    package var headers: [(key: String, value: [UInt8]?)]
    /// Every header name's bytes, in order, when some name is not UTF-8; nil otherwise (the usual case).
    package var rawHeaderNames: [[UInt8]]?
    package var value: [UInt8]?

    package init(
        topic: String, partition: Int32, offset: Int64, timestampMilliseconds: Int64? = nil, timestampType: KafkaTimestampType? = nil,
        key: [UInt8]? = nil, headers: [(key: String, value: [UInt8]?)] = [], rawHeaderNames: [[UInt8]]? = nil, value: [UInt8]?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMilliseconds = timestampMilliseconds
        self.timestampType = timestampType
        self.key = key
        self.headers = headers
        self.rawHeaderNames = rawHeaderNames
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
        (headers, rawHeaderNames) = KafkaMessage.headers(of: message)
    }

    /// The headers in wire order. librdkafka hands names out as C strings, so
    /// a name is read up to its first NUL byte; one that is not UTF-8 is kept
    /// as bytes too, so a dead letter can store it without loss.
    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>)
        -> (headers: [(key: String, value: [UInt8]?)], rawNames: [[UInt8]]?)
    {
        var native: OpaquePointer?
        guard rd_kafka_message_headers(message, &native) == RD_KAFKA_RESP_ERR_NO_ERROR, let native else { return ([], nil) }
        var result: [(key: String, value: [UInt8]?)] = []
        // Sized once: growing it header by header copied the tuples at each doubling.
        result.reserveCapacity(rd_kafka_header_cnt(native))
        var allValid = true
        var index = 0
        while case let (name, value)? = header(native, index) {
            // One pass to read and check the name: the usual, valid case copies nothing else.
            let text = String(validatingCString: name)
            allValid = allValid && text != nil
            result.append((key: text ?? String(cString: name), value: value.map { Array($0) }))
            index += 1
        }
        return (result, allValid ? nil : rawNames(native, count: index))
    }

    /// The header at `index`: its name as librdkafka holds it (a C string), and its value if it has one.
    private static func header(_ native: OpaquePointer, _ index: Int) -> (UnsafePointer<CChar>, UnsafeRawBufferPointer?)? {
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_all(native, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else { return nil }
        return (name, value.map { UnsafeRawBufferPointer(start: $0, count: size) })
    }

    /// Every name's bytes, read again only when some name is not UTF-8 (rare).
    private static func rawNames(_ native: OpaquePointer, count: Int) -> [[UInt8]] {
        (0..<count).compactMap { header(native, $0).map { Array(UnsafeRawBufferPointer(start: $0.0, count: strlen($0.0))) } }
    }
}

/// Who set a message's timestamp.
package enum KafkaTimestampType: String, Sendable {
    /// The producer's: any value it chose.
    case createTime = "create_time"
    /// The broker's, when the message was appended.
    case logAppendTime = "log_append_time"
}
