import CallAuditDomain
import CallAuditKafka
import CallAuditStore
import CallAuditVault

/// How instances of one consumer group share the partitions.
package enum IngestMembership: String, Sendable, CaseIterable, CustomStringConvertible {
    /// One instance ingests every partition; the others stand by. Leadership is
    /// a PostgreSQL advisory lock (`Leadership`): a standby takes over about a
    /// second after a leader stops or dies, and within 20 s of one freezing.
    case exclusive
    /// Kafka's consumer group spreads the partitions over every instance;
    /// a crashed instance's partitions move after the session timeout.
    case group

    package var description: String { rawValue }
}

extension IngestConfiguration {
    /// The advisory lock and `leaderships` row of a consumer group's ingest leader.
    package static func leadershipName(group: String) -> String { "callaudit.ingest." + group }
}

/// Everything the ingest service needs; every field has a working default for the embedded dev setup.
package struct IngestConfiguration: Sendable {
    /// Kafka bootstrap servers. Default `localhost:9092`.
    package var brokers: String
    /// Consumer group; offsets in PostgreSQL are kept per group. Default `callaudit-ingest`.
    package var groupID: String
    /// How the group's instances share its partitions. Default `exclusive`.
    package var membership: IngestMembership = .exclusive
    /// Kafka topic name for each contract topic. Default: the contract names.
    package var topicNames: [Topic: String]
    /// Extra librdkafka properties passed through verbatim (SASL, SSL, tuning).
    package var kafkaProperties: [String: String]
    /// PostgreSQL, and the limits of the service's sessions there.
    package var database: DatabaseConfiguration
    /// Messages per transaction at most. Default 5,000.
    package var maxBatchSize: Int
    /// How long a batch waits to fill before it is committed. Default 50 ms.
    package var maxBatchDelay: Duration
    /// The size limit and plausible-time window messages are held to.
    package var limits: DecodingLimits
    /// Longest wait between retries of a batch PostgreSQL could not take. Default 5 s.
    package var maxRetryDelay: Duration
    /// How long start-up waits for the Kafka cluster to answer. Default 5 s.
    package var kafkaStartupTimeout: Duration
    /// How long SASL authentication or TLS with the brokers may keep failing before ingest stops. Default 5 minutes.
    package var kafkaAuthGrace: Duration = KafkaConfiguration.defaultAuthGrace
    /// On shutdown, how long the batch in flight may take to commit before its
    /// statement is cancelled (it is then read again on the next start). Default 5 s.
    package var shutdownGrace: Duration
    /// The KEKs personal data is sealed under. Nil stores it in the clear,
    /// which only the ingest benchmark does, to measure what sealing costs.
    package var keyEncryption: KeyEncryptionKeys?
    /// Reads the KEKs again after a rotation (`keys rotate-kek`).
    package var reloadKeys: SubjectVault.KeySource?

    package init(
        brokers: String = "localhost:9092",
        groupID: String = "callaudit-ingest",
        topicNames: [Topic: String] = Dictionary(uniqueKeysWithValues: Topic.allCases.map { ($0, $0.rawValue) }),
        kafkaProperties: [String: String] = [:],
        database: DatabaseConfiguration = DatabaseConfiguration(),
        maxBatchSize: Int = 5_000,
        maxBatchDelay: Duration = .milliseconds(50),
        limits: DecodingLimits = DecodingLimits(),
        maxRetryDelay: Duration = .seconds(5),
        kafkaStartupTimeout: Duration = .seconds(5),
        shutdownGrace: Duration = .seconds(5),
        keyEncryption: KeyEncryptionKeys? = nil
    ) {
        self.brokers = brokers
        self.groupID = groupID
        self.topicNames = topicNames
        self.kafkaProperties = kafkaProperties
        self.database = database
        self.maxBatchSize = maxBatchSize
        self.maxBatchDelay = maxBatchDelay
        self.limits = limits
        self.maxRetryDelay = maxRetryDelay
        self.kafkaStartupTimeout = kafkaStartupTimeout
        self.shutdownGrace = shutdownGrace
        self.keyEncryption = keyEncryption
    }

    /// The topics to consume, in contract order.
    package var topics: [String] { Topic.allCases.compactMap { topicNames[$0] } }

    package var consumerConfiguration: KafkaConfiguration {
        var properties: [String: String] = [
            "bootstrap.servers": brokers,
            "group.id": groupID,
            "client.id": "callaudit-ingest",
            // Big fetches keep the consumer ahead of PostgreSQL.
            "fetch.wait.max.ms": "50",
            "queued.min.messages": "50000",
            // A crashed instance's partitions move on after 6 s (librdkafka's
            // default is 45 s): the broker's smallest allowed session by default
            // (group.min.session.timeout.ms). A graceful stop leaves the group
            // at once. docs/operations.md has the trade-off and static membership.
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "1000",
        ]
        properties.merge(kafkaProperties) { _, passedThrough in passedThrough }
        // Never chosen by a passed-through property: "earliest" or "latest" would move
        // silently past a retention gap or a recreated topic. With "error" librdkafka
        // stops that partition and ingest holds it until an operator accepts the gap.
        // (A partition without a stored position starts at its beginning, which is always valid.)
        properties["auto.offset.reset"] = "error"
        var configuration = KafkaConfiguration(properties)
        configuration.authGrace = kafkaAuthGrace
        return configuration
    }
}
