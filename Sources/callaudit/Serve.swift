import ArgumentParser
import CallAuditAPI
import CallAuditApp
import CallAuditDomain
import CallAuditIngest
import CallAuditIntegrity
import CallAuditProjections
import CallAuditReports
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the long-lived services: Kafka ingest, the projections, the sealer, the report scheduler, the status sampler and the HTTP API. Stops gracefully on SIGTERM or SIGINT.",
        discussion: """
            Bad settings stop start-up with what to fix. A fatal failure later (a missing privilege, rejected \
            Kafka credentials) stops the process with a non-zero exit; transient ones (locks, failovers, restarts) \
            are retried without losing or skipping anything.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var http: HTTPOptions
    @OptionGroup var reports: ReportScheduleOptions

    /// Every default below is the typed configuration's; the flags only map onto it.
    private static let defaults = ServeConfiguration()

    @Option(help: "Messages per transaction at most.")
    var batchSize = Serve.defaults.ingest.maxBatchSize

    @Option(help: "Milliseconds a batch waits to fill.")
    var batchDelayMs = Int(Serve.defaults.ingest.maxBatchDelay.wholeMilliseconds)

    @Option(help: "Seconds start-up waits for the Kafka cluster to answer.")
    var kafkaStartupTimeout = Int(Serve.defaults.ingest.kafkaStartupTimeout.wholeSeconds)

    @Option(help: """
        Seconds SASL authentication or TLS with the brokers may keep failing (a broker restart, a certificate \
        roll-out) before ingest stops saying what to fix; librdkafka retries meanwhile \
        (default: $CALLAUDIT_KAFKA_AUTH_GRACE, else \(Serve.defaults.ingest.kafkaAuthGrace.wholeSeconds)).
        """)
    var kafkaAuthGrace: Int?

    @Option(help: """
        How instances of one consumer group share the partitions: exclusive (one ingests, the others stand by; \
        failover in about a second) or group (Kafka's consumer group spreads them; a crash waits out the session \
        timeout). Default: $CALLAUDIT_INGEST_MEMBERSHIP, else \(Serve.defaults.ingest.membership).
        """)
    var ingestMembership: String?

    @Option(help: "Seconds a settled event may stay unsealed at most.")
    var sealInterval = Int(Serve.defaults.seals.interval.wholeSeconds)

    @Option(help: "Events one seal covers at most.")
    var sealMaxEvents = Serve.defaults.seals.maxEvents

    @Option(help: "Milliseconds between status samples (/v1/status, /readyz, the gauges of /metrics).")
    var statusIntervalMs = Int(Serve.defaults.statusInterval.wholeMilliseconds)

    @Flag(help: """
        Run even as a PostgreSQL superuser or the owner of the event tables, which serve otherwise refuses \
        (development only; also $CALLAUDIT_ALLOW_PRIVILEGED_ROLE=1).
        """)
    var allowPrivilegedRole = false

    @Flag(help: """
        Serve plain HTTP on an address other than loopback, which serve otherwise refuses: for a TLS-terminating \
        proxy on a private network (also $CALLAUDIT_ALLOW_PLAIN_HTTP=1).
        """)
    var allowPlainHTTP = false

    func run() async throws {
        let logger = try logging.makeLogger(label: "callaudit")
        let database = try database.configuration()
        let membershipName = ingestMembership ?? ProcessInfo.processInfo.environment["CALLAUDIT_INGEST_MEMBERSHIP"] ?? Serve.defaults.ingest.membership.rawValue
        guard let membership = IngestMembership(rawValue: membershipName) else {
            throw ValidationError("--ingest-membership \(membershipName): use exclusive or group")
        }
        var ingest = IngestConfiguration(
            brokers: kafka.resolvedBrokers, groupID: kafka.resolvedGroup, topicNames: try kafka.topicNames(),
            kafkaProperties: try kafka.librdkafkaProperties(), maxBatchSize: batchSize, maxBatchDelay: .milliseconds(batchDelayMs),
            limits: try decoding.limits(), kafkaStartupTimeout: .seconds(kafkaStartupTimeout))
        ingest.membership = membership
        let grace = kafkaAuthGrace ?? ProcessInfo.processInfo.environment["CALLAUDIT_KAFKA_AUTH_GRACE"].map { text in Int(text) ?? -1 }
            ?? Int(Serve.defaults.ingest.kafkaAuthGrace.wholeSeconds)
        guard grace >= 0 else { throw ValidationError("--kafka-auth-grace (or CALLAUDIT_KAFKA_AUTH_GRACE): seconds, 0 or more") }
        ingest.kafkaAuthGrace = .seconds(grace)
        let configuration = ServeConfiguration(
            database: database, ingest: ingest, projections: ProjectionConfiguration(), api: try http.configuration(),
            reports: try reports.schedule(), keyDirectory: keys.directory, keyEncryption: keys.keyEncryption, policyFile: policy.resolvedPath,
            statusInterval: .milliseconds(statusIntervalMs), seals: SealSchedule(interval: .seconds(sealInterval), maxEvents: sealMaxEvents),
            allowPrivilegedRole: allowPrivilegedRole || ProcessInfo.processInfo.environment["CALLAUDIT_ALLOW_PRIVILEGED_ROLE"] == "1",
            allowPlainHTTP: allowPlainHTTP || ProcessInfo.processInfo.environment["CALLAUDIT_ALLOW_PLAIN_HTTP"] == "1")
        try await SettingFlags.naming { try await Application.run(configuration, logger: logger) }
    }
}
