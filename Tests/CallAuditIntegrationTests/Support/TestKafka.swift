import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditSimulator
import CallAuditStore
import Testing

/// An in-process mock cluster with the four topics.
struct TestKafka {
    let cluster: KafkaMockCluster

    init(partitions: Int32 = 8) throws {
        cluster = try KafkaMockCluster(brokers: 3, logger: quietLogger)
        for topic in Topic.allCases { try cluster.createTopic(topic.rawValue, partitions: partitions) }
    }

    var brokers: String { cluster.bootstrapServers }

    func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: SimulationRunner.producerConfiguration(brokers: brokers), logger: quietLogger)
    }

    /// Sends messages and waits until the broker has every one.
    func produce(_ messages: [SimulatedMessage]) throws {
        let producer = try producer()
        for message in messages {
            try producer.produce(topic: message.topic.rawValue, key: Array(message.key.utf8), value: message.value, headers: message.headers)
        }
        try producer.flush()
        #expect(producer.failed == 0)
    }

    func ingestConfiguration(
        _ database: TestDatabase, group: String = "test-group", maxMessageBytes: Int = DecodingLimits.defaultMaximumBytes
    ) -> IngestConfiguration {
        IngestConfiguration(
            brokers: brokers, groupID: group,
            kafkaProperties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "topic.metadata.refresh.interval.ms": "1000"],
            database: DatabaseConfiguration(url: database.serviceURL), maxBatchSize: 2_000, maxBatchDelay: .milliseconds(20),
            limits: DecodingLimits(maximumBytes: maxMessageBytes), maxRetryDelay: .milliseconds(500), keyEncryption: testKeys)
    }
}

