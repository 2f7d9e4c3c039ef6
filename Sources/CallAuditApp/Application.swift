import CallAuditAPI
import CallAuditDomain
import CallAuditIngest
import CallAuditIntegrity
import CallAuditKafka
import CallAuditOperations
import CallAuditProjections
import CallAuditReports
import CallAuditRuntime
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Logging
import ServiceLifecycle

/// The composition root: the one place `callaudit serve` is put together.
///
/// It checks what can be checked before anything starts (settings, policy,
/// Kafka properties, the database and its schema), then builds the service
/// group. On SIGTERM the blocking loops (ingest, the projections, reports,
/// status, the sealer) are told to stop at once, and ingest commits its batch
/// in flight and leaves the consumer group; the API, its resources and the
/// KEK acknowledgement stop after them. A fatal failure in any service shuts
/// the others down and ends `run` with that failure, so the process exits
/// non-zero with its message.
package enum Application {
    /// Runs the service until SIGTERM or SIGINT, or until a service fails.
    package static func run(_ configuration: ServeConfiguration, logger: Logger) async throws {
        try await buildServiceGroup(configuration, logger: logger).run()
    }

    package static func buildServiceGroup(_ configuration: ServeConfiguration, logger: Logger) throws -> ServiceGroup {
        try configuration.validate()
        let policy = try Policy.load(file: configuration.policyFile)
        logger.info("policy loaded", metadata: ["policy.version": "\(policy.version)", "policy.hash": "\(policy.hash)"])
        let role = try checkDatabase(configuration.database, allowPrivilegedRole: configuration.allowPrivilegedRole)
        if role.isPrivileged { logger.warning("serving as a privileged PostgreSQL role (--allow-privileged-role)", metadata: ["db.role": "\(role.name)"]) }
        do {
            let keys = try KeyRing.open(configuration.keyDirectory)
            logger.info("signing key", metadata: ["key.id": "\(keys.current.keyID)", "key.directory": "\(configuration.keyDirectory.path)"])
        } catch {
            throw ConfigurationError(setting: "keyDirectory", value: configuration.keyDirectory.path, problem: error.description, fix: "point it at a writable folder")
        }

        let kekSource = configuration.keyEncryption ?? .file(configuration.keyDirectory.appendingPathComponent("kek.json"))
        let keyEncryption = try kekSource.load(create: true)
        let reloadKeys: SubjectVault.KeySource = { try kekSource.load(create: false) }
        try checkKEK(keyEncryption, source: kekSource, database: configuration.database)
        logger.info("personal data sealed under KEK", metadata: ["kek.id": "\(keyEncryption.currentID)"])
        let acknowledger = KEKAcknowledger(source: kekSource, database: configuration.database, logger: logger)
        var ingestConfiguration = configuration.ingest
        // Kafka events and what is derived from them can be read again: they never wait for a standby.
        ingestConfiguration.database = configuration.database.forDerivedRecords
        ingestConfiguration.keyEncryption = keyEncryption
        ingestConfiguration.reloadKeys = reloadKeys
        var projectionConfiguration = configuration.projections
        projectionConfiguration.database = configuration.database.forDerivedRecords

        let statistics = IngestStatistics()
        let loop = IngestLoop(configuration: ingestConfiguration, logger: logger, statistics: statistics)
        let runners = ProjectionCatalog.all(policy: policy).map {
            ProjectionRunner(projection: $0, configuration: projectionConfiguration, logger: logger)
        }
        let scheduler = ReportScheduler(
            schedule: configuration.reports, database: configuration.database, policy: policy, keyDirectory: configuration.keyDirectory,
            logger: logger)
        let sealer = SealerService(
            database: configuration.database, schedule: configuration.seals, keyDirectory: configuration.keyDirectory, logger: logger)
        let board = StatusBoard(interval: configuration.statusInterval)
        let sampler = try statusSampler(configuration, policy: policy, runners: runners, statistics: statistics, logger: logger)
        var apiConfiguration = configuration.api
        apiConfiguration.keyDirectory = configuration.keyDirectory
        let api = try APIServer.build(
            configuration: apiConfiguration, database: configuration.database, policy: policy, reportTimeZone: configuration.reports.timeZone,
            keyEncryption: keyEncryption, reloadKeys: reloadKeys, operations: OperationsAccess(board: board, registry: ProcessMetrics.registry),
            logger: logger)
        let blocking =
            runners.map { runner in
                BlockingWork(description: "projection \(runner.projection.name)", work: { try runner.run() }, stop: { runner.requestStop() })
            }
            + [
                BlockingWork(description: "reports", work: { try scheduler.run() }, stop: { scheduler.requestStop() }),
                BlockingWork(
                    description: "status", work: { board.run(sampler: sampler, database: configuration.database, logger: logger) },
                    stop: { board.requestStop() }),
                BlockingWork(description: "sealer", work: { sealer.run() }, stop: { sealer.requestStop() }),
                BlockingWork(description: "ingest", work: { try loop.run() }, stop: { loop.requestStop() }),
            ]
        let windDown = configuration.shutdownTimeout
        // Services stop in reverse order.
        let services: [any Service] = [
            // Last: its acknowledgement is withdrawn only once nothing here can wrap a data key
            // with the KEK (ingest's batch in flight, the API's requests).
            BlockingServices(
                members: [BlockingWork(description: "kek acknowledgement", work: { acknowledger.run() }, stop: { acknowledger.requestStop() })],
                windDown: windDown, logger: logger),
            StatisticsReporter(statistics: statistics, interval: configuration.statisticsInterval, logger: logger),
            // The pool and the read recorder after the API, once no request uses them.
            api.pool,
            api.recorder,
            api.service,
            // Stopped all at once (see `BlockingServices`), ingest's batch in flight committed before the API stops.
            BlockingServices(members: blocking, windDown: windDown, logger: logger),
            // First: from then, an API request still waiting for PostgreSQL after a few seconds
            // (a commit waiting for a synchronous standby that is down) is cancelled, so the API
            // can finish its requests.
            CancelOnShutdown([api.pool.cancellation, api.recorder.cancellation]),
        ]
        var group = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        group.maximumCancellationDuration = .milliseconds(500)
        return ServiceGroup(configuration: group)
    }

    /// The sampler behind `/v1/status`, `/readyz` and the gauges, with a Kafka client of its own for watermarks.
    private static func statusSampler(
        _ configuration: ServeConfiguration, policy: Policy, runners: [ProjectionRunner], statistics: IngestStatistics, logger: Logger
    ) throws -> StatusSampler {
        let settings = StatusSampler.Settings(
            consumerGroup: configuration.ingest.groupID, topics: configuration.ingest.topics, projections: runners.map(\.projection.name),
            reports: configuration.reports, policy: policy)
        let watermarks = try KafkaWatermarks(configuration: configuration.ingest.consumerConfiguration, logger: logger)
        return StatusSampler(settings: settings, watermarks: watermarks)
    }

    /// Refuses to start with a KEK file that lacks the current KEK (a host the
    /// rotation missed), or whose current KEK was retired: it would meet keys
    /// it cannot open, or wrap new ones with a key about to be destroyed.
    /// Acknowledges the KEK it will wrap with before anything starts.
    private static func checkKEK(_ keys: KeyEncryptionKeys, source: KeyEncryptionSource, database: DatabaseConfiguration) throws(ConfigurationError) {
        do {
            let connection = try database.connect(application: "callaudit-startup")
            if let refusal = try KEKAcknowledgements.refusal(of: keys, on: connection) {
                throw ConfigurationError(
                    setting: source.setting.name, value: source.setting.value, problem: "the KEK file is out of date: \(refusal)",
                    fix: "give this host the current KEK file (the one `keys rotate-kek` wrote; every instance must read the same file)")
            }
            try KEKAcknowledgements.acknowledge(keys.currentID, on: connection)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(setting: "database.url", problem: "cannot check the KEK against the database: \(error)")
        }
    }

    /// Fails start-up with what to do when the database is unreachable, at the
    /// wrong schema version, reached as a role that could rewrite the log, or
    /// holding objects a less trusted role planted where sessions resolve names.
    private static func checkDatabase(_ database: DatabaseConfiguration, allowPrivilegedRole: Bool) throws(ConfigurationError) -> DatabaseRole {
        do {
            let connection = try database.connect(application: "callaudit-startup")
            try Migrator(connection: connection, migrations: Migration.bundled()).requireCurrent()
            let role = try DatabaseRole.current(on: connection)
            if let refusal = role.refusal, !allowPrivilegedRole {
                throw ConfigurationError(setting: "database.url", problem: refusal)
            }
            try SchemaTrust.requireTrustedSchemas(on: connection)
            if let top = try LogClock.behind(on: connection) {
                throw ConfigurationError(setting: "database", problem: LogClock.behindMessage(top))
            }
            return role
        } catch let error as ConfigurationError {
            throw error
        } catch let error as PostgresError {
            throw ConfigurationError(
                setting: "database.url", problem: error.description,
                fix: "check the URL (or CALLAUDIT_DATABASE_URL, or libpq's PG* variables) and that PostgreSQL is running")
        } catch {
            throw ConfigurationError(setting: "database schema", problem: "\(error)")
        }
    }
}
