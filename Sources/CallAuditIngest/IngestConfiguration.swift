import CallAuditDomain
import CallAuditKafka

/// Everything the ingest service needs; every field has a working default for the embedded dev setup.
public struct IngestConfiguration: Sendable {
    /// Kafka bootstrap servers. Default `localhost:9092`.
    public var brokers: String
    /// Consumer group; offsets in PostgreSQL are kept per group. Default `callaudit-ingest`.
    public var groupID: String
    /// Kafka topic name for each contract topic. Default: the contract names.
    public var topicNames: [Topic: String]
    /// Extra librdkafka properties passed through verbatim (SASL, SSL, tuning).
    public var kafkaProperties: [String: String]
    /// libpq connection string or URI; empty means libpq's `PG*` variables and defaults.
    public var databaseURL: String
    /// Messages per transaction at most. Default 5,000.
    public var maxBatchSize: Int
    /// How long a batch waits to fill before it is committed. Default 50 ms.
    public var maxBatchDelay: Duration
    /// Messages larger than this are dead-lettered as oversize. Default 1 MiB.
    public var maxMessageBytes: Int
    /// Longest wait between reconnection attempts to PostgreSQL. Default 5 s.
    public var maxRetryDelay: Duration

    public init(
        brokers: String = "localhost:9092",
        groupID: String = "callaudit-ingest",
        topicNames: [Topic: String] = Dictionary(uniqueKeysWithValues: Topic.allCases.map { ($0, $0.rawValue) }),
        kafkaProperties: [String: String] = [:],
        databaseURL: String = "",
        maxBatchSize: Int = 5_000,
        maxBatchDelay: Duration = .milliseconds(50),
        maxMessageBytes: Int = 1 << 20,
        maxRetryDelay: Duration = .seconds(5)
    ) {
        self.brokers = brokers
        self.groupID = groupID
        self.topicNames = topicNames
        self.kafkaProperties = kafkaProperties
        self.databaseURL = databaseURL
        self.maxBatchSize = maxBatchSize
        self.maxBatchDelay = maxBatchDelay
        self.maxMessageBytes = maxMessageBytes
        self.maxRetryDelay = maxRetryDelay
    }

    var consumerConfiguration: KafkaConfiguration {
        var properties: [String: String] = [
            "bootstrap.servers": brokers,
            "group.id": groupID,
            "auto.offset.reset": "earliest",
            "client.id": "callaudit-ingest",
            // Big fetches keep the consumer ahead of PostgreSQL.
            "fetch.wait.max.ms": "50",
            "queued.min.messages": "50000",
        ]
        properties.merge(kafkaProperties) { _, passedThrough in passedThrough }
        return KafkaConfiguration(properties)
    }
}
