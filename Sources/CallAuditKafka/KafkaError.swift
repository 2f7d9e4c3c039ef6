import CRDKafka

/// An error from librdkafka. `code` mirrors `rd_kafka_resp_err_t` so callers need not import the C module.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        self.code = err.rawValue
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    public var description: String { "Kafka error \(code): \(message)" }

    public static let partitionEOF = RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue
    public static let queueFull = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue
}
