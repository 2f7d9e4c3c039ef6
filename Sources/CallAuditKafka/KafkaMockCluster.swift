import CRDKafka
import Logging

/// librdkafka's in-process mock cluster (`rdkafka_mock.h`): a real Kafka protocol peer on localhost.
///
/// It keeps only about 5 MB per partition and trims older data past that, so
/// whoever loads it gives topics enough partitions or consumes while producing.
package final class KafkaMockCluster: @unchecked Sendable {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    private let callbacks: ClientCallbacks
    package let bootstrapServers: String
    package let brokerCount: Int32

    package init(brokers: Int32 = 3, logger: Logger) throws(KafkaError) {
        let conf = try KafkaConfiguration(["log_level": "3"]).makeNative()
        callbacks = ClientCallbacks(logger: logger)
        callbacks.install(on: conf)
        let handle = try makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw KafkaError(code: -1, message: "the mock cluster could not start")
        }
        self.handle = handle
        self.cluster = cluster
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }

    package func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "create topic \(name)") }
    }

    /// Takes a broker off the network (its connections drop, new ones are refused).
    package func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_down(cluster, brokerID)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "broker \(brokerID) down") }
    }

    package func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_up(cluster, brokerID)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "broker \(brokerID) up") }
    }
}
