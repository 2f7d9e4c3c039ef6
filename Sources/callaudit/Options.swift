import ArgumentParser
import CallAuditAPI
import CallAuditApp
import CallAuditReports
import CallAuditDomain
import CallAuditIngest
import CallAuditStore
import CallAuditVault
import Foundation
import Logging

private let environment = ProcessInfo.processInfo.environment

/// A setting from its flag, else its `CALLAUDIT_*` variable, else nil; a variable that does not parse is a usage error.
private func setting<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, _ flagName: String) throws -> T? {
    if let flag { return flag }
    guard let text = environment[variable] else { return nil }
    guard let value = T(text) else { throw ValidationError("\(variable)=\(text): not a valid value for \(flagName)") }
    return value
}

/// Where PostgreSQL is. Flag, then `CALLAUDIT_DATABASE_URL`, then libpq's own `PG*` variables.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "libpq URI or key=value string (default: $CALLAUDIT_DATABASE_URL, else libpq's PG* variables).")
    var url: String?

    @Option(help: "Seconds a statement may run before PostgreSQL cancels it; 0 for no limit (default: $CALLAUDIT_STATEMENT_TIMEOUT, else \(DatabaseConfiguration().statementTimeout.wholeSeconds)).")
    var statementTimeout: Int?

    @Option(
        help: """
            synchronous_commit for CallAudit's own records: requests, erasures, report reads, seals, reports, tokens \
            (on, remote_apply, remote_write, local; default: $CALLAUDIT_SYNCHRONOUS_COMMIT, else on).
            """)
    var synchronousCommit: SynchronousCommit?

    @Option(
        help: """
            synchronous_commit for batches of Kafka events and projections, which can be read again \
            (off, local, remote_write, on, remote_apply; default: $CALLAUDIT_INGEST_SYNCHRONOUS_COMMIT, else local).
            """)
    var ingestSynchronousCommit: SynchronousCommit?

    var resolved: String { url ?? environment["CALLAUDIT_DATABASE_URL"] ?? "" }

    /// The service's sessions: keepalives, `tcp_user_timeout`, statement and idle-in-transaction limits.
    func configuration() throws -> DatabaseConfiguration {
        var configuration = DatabaseConfiguration(url: resolved)
        if let seconds = try setting(statementTimeout, "CALLAUDIT_STATEMENT_TIMEOUT", "--statement-timeout") {
            guard seconds >= 0 else { throw ValidationError("--statement-timeout must not be negative") }
            configuration.statementTimeout = .seconds(seconds)
        }
        if let level = try setting(synchronousCommit, "CALLAUDIT_SYNCHRONOUS_COMMIT", "--synchronous-commit") {
            configuration.synchronousCommit = level
        }
        if let level = try setting(ingestSynchronousCommit, "CALLAUDIT_INGEST_SYNCHRONOUS_COMMIT", "--ingest-synchronous-commit") {
            configuration.derivedSynchronousCommit = level
        }
        return configuration
    }

    /// A connection for a one-off command. What these write (requests, erasures, tokens, report
    /// reads, rebuilds) commits at the level of CallAudit's own records.
    func connect() throws -> PostgresConnection {
        let level = try setting(synchronousCommit, "CALLAUDIT_SYNCHRONOUS_COMMIT", "--synchronous-commit") ?? .on
        guard level.isDurableLocally else { throw ValidationError("--synchronous-commit off: CallAudit's own records exist nowhere else; use on") }
        return try PostgresConnection(conninfo: resolved, session: [("synchronous_commit", level.rawValue)])
    }
}

/// Where Kafka is and how to read it. Flags, then `CALLAUDIT_KAFKA_*` variables.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Bootstrap servers (default: $CALLAUDIT_KAFKA_BROKERS, else the file written by dev-kafka, else \(IngestConfiguration().brokers)).")
    var brokers: String?

    @Option(help: "Consumer group (default: $CALLAUDIT_KAFKA_GROUP, else \(IngestConfiguration().groupID)).")
    var group: String?

    @Option(name: .customLong("topic"), help: "Topic name for a contract topic, as contract=name (e.g. calls=pbx.calls). Repeatable.")
    var topics: [String] = []

    @Option(name: .customLong("kafka-property"), help: "Any librdkafka property as key=value (SASL, SSL, tuning). Repeatable.")
    var properties: [String] = []

    var resolvedBrokers: String { Self.brokers(brokers) }

    var resolvedGroup: String { Self.group(group) }

    /// The flag, else `CALLAUDIT_KAFKA_BROKERS`, else what dev-kafka wrote, else ingest's default.
    static func brokers(_ flag: String?) -> String {
        if let brokers = flag { return brokers }
        if let fromEnvironment = environment["CALLAUDIT_KAFKA_BROKERS"] { return fromEnvironment }
        if let written = try? String(contentsOfFile: DevKafka.defaultBootstrapFile, encoding: .utf8) {
            return written.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return IngestConfiguration().brokers
    }

    static func group(_ flag: String?) -> String { flag ?? environment["CALLAUDIT_KAFKA_GROUP"] ?? IngestConfiguration().groupID }

    func topicNames() throws -> [Topic: String] {
        var names = Dictionary(uniqueKeysWithValues: Topic.allCases.map { ($0, environment["CALLAUDIT_TOPIC_\($0.rawValue.uppercased())"] ?? $0.rawValue) })
        for pair in try Self.pairs(topics, flag: "--topic") {
            guard let topic = Topic(rawValue: pair.key) else {
                throw ValidationError("--topic \(pair.key)=…: the contract topics are \(Topic.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            names[topic] = pair.value
        }
        return names
    }

    func librdkafkaProperties() throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in try Self.pairs(properties, flag: "--kafka-property") { result[pair.key] = pair.value }
        return result
    }

    static func pairs(_ values: [String], flag: String) throws -> [(key: String, value: String)] {
        try values.map { value in
            guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                throw ValidationError("\(flag) takes key=value, got '\(value)'")
            }
            return (String(value[..<equals]), String(value[value.index(after: equals)...]))
        }
    }
}

/// The one size limit and time window messages are held to, for ingest and dead-letter replay alike.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Messages larger than this many bytes are dead-lettered as oversize (default: $CALLAUDIT_MAX_MESSAGE_BYTES, else \(DecodingLimits.defaultMaximumBytes)).")
    var maxMessageBytes: Int?

    @Option(help: "Event times more than this many days old are dead-lettered as bad_time (default: $CALLAUDIT_MAX_EVENT_AGE_DAYS, else \(DecodingLimits().maximumAge.wholeSeconds / 86_400)).")
    var maxEventAgeDays: Int?

    @Option(help: "Event times more than this many hours ahead are dead-lettered as bad_time (default: $CALLAUDIT_MAX_EVENT_LEAD_HOURS, else \(DecodingLimits().maximumLead.wholeSeconds / 3_600)).")
    var maxEventLeadHours: Int?

    func limits() throws -> DecodingLimits {
        var limits = DecodingLimits()
        if let bytes = try setting(maxMessageBytes, "CALLAUDIT_MAX_MESSAGE_BYTES", "--max-message-bytes") {
            guard bytes > 0 else { throw ValidationError("--max-message-bytes must be at least 1") }
            limits.maximumBytes = bytes
        }
        if let days = try setting(maxEventAgeDays, "CALLAUDIT_MAX_EVENT_AGE_DAYS", "--max-event-age-days") {
            guard days > 0 else { throw ValidationError("--max-event-age-days must be at least 1") }
            limits.maximumAge = .seconds(Int64(days) * 86_400)
        }
        if let hours = try setting(maxEventLeadHours, "CALLAUDIT_MAX_EVENT_LEAD_HOURS", "--max-event-lead-hours") {
            guard hours >= 0 else { throw ValidationError("--max-event-lead-hours must not be negative") }
            limits.maximumLead = .seconds(Int64(hours) * 3_600)
        }
        return limits
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (default: $CALLAUDIT_LOG_LEVEL, else info).")
    var logLevel: String?

    /// Bootstraps logging to standard error, repeated lines held back, and returns a logger.
    func makeLogger(label: String) throws -> Logger {
        let text = logLevel ?? environment["CALLAUDIT_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw ValidationError("--log-level \(text): use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        LoggingSystem.bootstrap { label in RateLimitedLogHandler(wrapping: StreamLogHandler.standardError(label: label)) }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Where the compliance policy comes from: `--policy FILE`, then `CALLAUDIT_POLICY`, else the built-in default.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy"), help: "Policy file (JSON) replacing the default (default: $CALLAUDIT_POLICY, else the built-in policy).")
    var path: String?

    var resolvedPath: String? { path ?? environment["CALLAUDIT_POLICY"] }

    func load() throws -> Policy { try SettingFlags.naming { try Policy.load(file: resolvedPath) } }
}

/// Where the signing keys are: `--key-dir`, then `CALLAUDIT_KEY_DIR`, else the configuration's default.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("key-dir"), help: "Signing key folder, made with a first key when missing (default: $CALLAUDIT_KEY_DIR, else ./\(APIConfiguration.defaultKeyDirectory.lastPathComponent)).")
    var path: String?

    @Option(help: "The key-encryption keys personal data is sealed under (default: $CALLAUDIT_KEK_FILE, else kek.json in the key folder; CALLAUDIT_KEK, one base64 key, takes precedence).")
    var kekFile: String?

    var directory: URL { (path ?? environment["CALLAUDIT_KEY_DIR"]).map { URL(fileURLWithPath: $0) } ?? APIConfiguration.defaultKeyDirectory }

    var keyEncryption: KeyEncryptionSource {
        .resolve(file: kekFile ?? environment["CALLAUDIT_KEK_FILE"], keyDirectory: directory, environment: environment)
    }

    /// The vault over `connection`, for commands that read or write personal data.
    func vault(on connection: PostgresConnection) throws -> SubjectVault {
        let source = keyEncryption
        let keys = try SettingFlags.naming { try source.load(create: false) }
        return try SubjectVault.open(keys: keys, reload: { try source.load(create: false) }, on: connection)
    }
}

/// The HTTP API's address, TLS and limits.
struct HTTPOptions: ParsableArguments {
    private static let defaults = APIConfiguration()

    @Option(help: "Where the HTTP API listens, host:port (default: $CALLAUDIT_HTTP_ADDRESS, else \(HTTPOptions.defaults.address)).")
    var httpAddress: String?

    @Option(help: "TLS certificate chain, PEM (default: $CALLAUDIT_TLS_CERTIFICATE; without it the API speaks plain HTTP).")
    var tlsCertificate: String?

    @Option(help: "TLS private key, PEM (default: $CALLAUDIT_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Requests per second each token may make on average; 0 for no limit (default: $CALLAUDIT_RATE_LIMIT, else \(HTTPOptions.defaults.rateLimit.formatted)).")
    var rateLimit: Double?

    @Option(help: "Failed authentications (unknown or revoked tokens) a client address may make per minute after its burst; 0 for no throttle (default: $CALLAUDIT_AUTH_FAILURES_PER_MINUTE, else \(HTTPOptions.defaults.authFailuresPerMinute.formatted)).")
    var authFailuresPerMinute: Double?

    @Option(help: "Failed authentications a client address may make at once (default: $CALLAUDIT_AUTH_FAILURE_BURST, else \(HTTPOptions.defaults.authFailureBurst.formatted)).")
    var authFailureBurst: Double?

    @Option(help: "Most days an on-demand report (POST /v1/reports) may cover (default: $CALLAUDIT_REPORT_MAX_RANGE_DAYS, else \(HTTPOptions.defaults.reportMaxRangeDays)).")
    var reportMaxRangeDays: Int?

    @Option(help: "On-demand reports that may wait behind the one being generated (default: $CALLAUDIT_REPORT_QUEUE, else \(HTTPOptions.defaults.reportQueue)).")
    var reportQueue: Int?

    @Option(help: "MiB of report versions the API keeps in memory to serve again (default: $CALLAUDIT_REPORT_CACHE_MIB, else \(HTTPOptions.defaults.reportCacheBytes >> 20)).")
    var reportCacheMib: Int?

    func configuration() throws -> APIConfiguration {
        var configuration = APIConfiguration()
        let address = httpAddress ?? environment["CALLAUDIT_HTTP_ADDRESS"] ?? configuration.address
        guard let (host, port) = APIConfiguration.parseAddress(address) else {
            throw ValidationError("--http-address \(address): use host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8443")
        }
        configuration.host = host
        configuration.port = port
        let certificate = tlsCertificate ?? environment["CALLAUDIT_TLS_CERTIFICATE"]
        let key = tlsKey ?? environment["CALLAUDIT_TLS_KEY"]
        switch (certificate, key) {
        case (let certificate?, let key?): configuration.tls = .init(certificateChain: certificate, privateKey: key)
        case (nil, nil): break
        default: throw ValidationError("--tls-certificate and --tls-key go together")
        }
        if let rate = try setting(rateLimit, "CALLAUDIT_RATE_LIMIT", "--rate-limit") {
            configuration.rateLimit = rate
            configuration.rateBurst = max(rate * 2, 1)
        }
        if let value = try setting(authFailuresPerMinute, "CALLAUDIT_AUTH_FAILURES_PER_MINUTE", "--auth-failures-per-minute") {
            configuration.authFailuresPerMinute = value
        }
        if let value = try setting(authFailureBurst, "CALLAUDIT_AUTH_FAILURE_BURST", "--auth-failure-burst") { configuration.authFailureBurst = value }
        if let value = try setting(reportMaxRangeDays, "CALLAUDIT_REPORT_MAX_RANGE_DAYS", "--report-max-range-days") {
            configuration.reportMaxRangeDays = value
        }
        if let value = try setting(reportQueue, "CALLAUDIT_REPORT_QUEUE", "--report-queue") { configuration.reportQueue = value }
        if let value = try setting(reportCacheMib, "CALLAUDIT_REPORT_CACHE_MIB", "--report-cache-mib") {
            configuration.reportCacheBytes = value < 0 ? -1 : value << 20
        }
        return configuration
    }
}

/// When reports are issued on their own.
struct ReportScheduleOptions: ParsableArguments {
    private static let defaults = ReportSchedule()

    @Option(help: "Time zone whose days, weeks, months and quarters reports cover (default: $CALLAUDIT_REPORT_TIME_ZONE, else \(ReportScheduleOptions.defaults.timeZone)).")
    var reportTimeZone: String?

    @Option(help: "Hours after a period's end before its report is issued, for late events (default: $CALLAUDIT_REPORT_CLOSE_DELAY_HOURS, else \(ReportScheduleOptions.defaults.closeDelay.wholeSeconds / 3_600)).")
    var reportCloseDelayHours: Int?

    @Option(help: "Seconds between the scheduler's rounds.")
    var reportInterval = Int(ReportScheduleOptions.defaults.interval.wholeSeconds)

    func schedule() throws -> ReportSchedule {
        var schedule = ReportSchedule(interval: .seconds(max(reportInterval, 1)))
        if let zone = reportTimeZone ?? environment["CALLAUDIT_REPORT_TIME_ZONE"] { schedule.timeZone = zone }
        if let hours = try setting(reportCloseDelayHours, "CALLAUDIT_REPORT_CLOSE_DELAY_HOURS", "--report-close-delay-hours") {
            schedule.closeDelay = .seconds(Int64(hours) * 3_600)
        }
        return schedule
    }
}

/// Prints to standard error, for progress and diagnostics that are not the command's output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

extension SynchronousCommit: ExpressibleByArgument {}

extension Double {
    /// `50` for 50.0, `0.5` for 0.5: a default as a user would type it.
    var formatted: String { rounded() == self ? String(Int(self)) : String(self) }
}

/// Which flag sets each setting `ServeConfiguration` names in its errors
/// (`ConfigurationError.setting`): the configuration speaks in its own
/// names, and the command line tells its user what to type.
enum SettingFlags {
    static let byKey: [String: String] = [
        "database.url": "--database-url", "database.statementTimeout": "--statement-timeout",
        "database.synchronousCommit": "--synchronous-commit",
        "ingest.maxBatchSize": "--batch-size", "ingest.maxBatchDelay": "--batch-delay-ms", "ingest.kafkaProperties": "--kafka-property",
        "ingest.limits.maximumBytes": "--max-message-bytes", "ingest.limits.maximumAge": "--max-event-age-days",
        "ingest.limits.maximumLead": "--max-event-lead-hours",
        "statusInterval": "--status-interval-ms", "seals.interval": "--seal-interval", "seals.maxEvents": "--seal-max-events",
        "reports.timeZone": "--report-time-zone", "reports.closeDelay": "--report-close-delay-hours",
        "api.host": "--http-address", "api.tls": "--tls-certificate/--tls-key", "api.rateLimit": "--rate-limit",
        "api.authFailuresPerMinute": "--auth-failures-per-minute", "api.authFailureBurst": "--auth-failure-burst",
        "api.reportMaxRangeDays": "--report-max-range-days", "api.reportQueue": "--report-queue", "api.reportCacheBytes": "--report-cache-mib",
        "keyDirectory": "--key-dir", "keyEncryption": "--kek-file", "policyFile": "--policy",
    ]

    /// Runs `body`; a `ConfigurationError` comes out naming the flag that sets the setting too.
    static func naming<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch var error as ConfigurationError {
            error.flag = byKey[error.setting]
            throw error
        }
    }

    static func naming<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch var error as ConfigurationError {
            error.flag = byKey[error.setting]
            throw error
        }
    }
}
