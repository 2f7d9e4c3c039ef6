import CRDKafka

/// An error from librdkafka. `code` mirrors `rd_kafka_resp_err_t` so callers need not import the C module.
package struct KafkaError: Error, Sendable, CustomStringConvertible {
    package var code: Int32
    package var message: String
    /// The librdkafka property that was refused, for configuration errors.
    package var property: String?

    package init(code: Int32, message: String, property: String? = nil) {
        self.code = code
        self.message = message
        self.property = property
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        self.code = err.rawValue
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    package var description: String { "Kafka error \(code): \(message)" }

    package static let partitionEOF = RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue
    package static let queueFull = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue

    /// What an operator should do about `error`, which stopped start-up or the consumer.
    package static func remedy(for error: KafkaError, brokers: String?) -> String {
        if let property = error.property {
            return "fix or remove the librdkafka property '\(property)' (--kafka-property)"
        }
        switch rd_kafka_resp_err_t(rawValue: error.code) {
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
            return "create the topics, or map the contract's topics to yours with --topic calls=NAME (or CALLAUDIT_TOPIC_CALLS)"
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
            return "the cluster rejected the credentials: check sasl.mechanism, sasl.username and sasl.password (--kafka-property), and that the brokers' SASL listener and the credentials' store are up"
        case RD_KAFKA_RESP_ERR__SSL:
            return "the TLS handshake with the brokers fails: check ssl.ca.location (the CA that signed the brokers' certificates), the certificates' names and validity dates, ssl.certificate.location and ssl.key.location if the brokers ask for a client certificate, and that security.protocol matches the listener (--kafka-property)"
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
            return "check that Kafka runs at \(brokers ?? "the configured brokers") (--brokers or CALLAUDIT_KAFKA_BROKERS) and that security.protocol matches the listener"
        default:
            return "see the librdkafka message above and the broker's log"
        }
    }
}
