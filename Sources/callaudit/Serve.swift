import ArgumentParser
import CallAuditIngest
import CallAuditProjections
import CallAuditStore
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the long-lived services: projections and Kafka ingest. Stops gracefully on SIGTERM or SIGINT.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var policy: PolicyOptions

    @Option(help: "Messages per transaction at most.")
    var batchSize = 5_000

    @Option(help: "Milliseconds a batch waits to fill.")
    var batchDelayMs = 50

    @Option(help: "Messages larger than this many bytes are dead-lettered as oversize.")
    var maxMessageBytes = 256 * 1024

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        guard batchDelayMs >= 0 else { throw ValidationError("--batch-delay-ms must not be negative") }
        guard maxMessageBytes > 0 else { throw ValidationError("--max-message-bytes must be at least 1") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "callaudit")
        let policy = try policy.load()
        logger.info("policy loaded", metadata: ["policy.version": "\(policy.version)", "policy.hash": "\(policy.hash)"])
        let configuration = IngestConfiguration(
            brokers: kafka.resolvedBrokers, groupID: kafka.resolvedGroup, topicNames: try kafka.topicNames(),
            kafkaProperties: try kafka.librdkafkaProperties(), databaseURL: database.resolved, maxBatchSize: batchSize,
            maxBatchDelay: .milliseconds(batchDelayMs), maxMessageBytes: maxMessageBytes)
        try checkSchema(configuration.databaseURL)
        let statistics = IngestStatistics()
        let ingest = IngestService(loop: IngestLoop(configuration: configuration, logger: logger, statistics: statistics))
        let projections = ProjectionCatalog.all(policy: policy).map { projection in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: ProjectionService(runner: ProjectionRunner(projection: projection, databaseURL: configuration.databaseURL, logger: logger)))
        }
        // Started in order, stopped in reverse: ingest (last) stops first.
        let group = ServiceGroup(
            configuration: .init(
                services: projections + [
                    .init(service: StatisticsReporter(statistics: statistics, logger: logger)), .init(service: ingest),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// Fails start-up with what to do when the database is unreachable or at the wrong schema version.
    private func checkSchema(_ url: String) throws {
        let connection = try PostgresConnection(conninfo: url)
        try Migrator(connection: connection, migrations: Migration.bundled()).requireCurrent()
    }
}

/// Logs ingest totals every ten seconds, for operators tailing the log.
struct StatisticsReporter: Service {
    let statistics: IngestStatistics
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(10)) }
            logger.info("ingest totals", metadata: ["ingest.totals": "\(statistics.summary)"])
        }
    }
}
