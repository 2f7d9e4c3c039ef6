import CallAuditAPI
import CallAuditIngest
import CallAuditIntegrity
import CallAuditProjections
import CallAuditReports
import CallAuditStore
import Foundation

/// Everything `callaudit serve` runs on, in one typed value. Each component
/// keeps its own configuration with its defaults documented; this holds them
/// together and hands each the one database setting.
package struct ServeConfiguration: Sendable {
    /// PostgreSQL, for every component.
    package var database: DatabaseConfiguration
    /// Kafka → store.
    package var ingest: IngestConfiguration
    /// The projection runners.
    package var projections: ProjectionConfiguration
    /// The HTTP API.
    package var api: APIConfiguration
    /// When reports are issued.
    package var reports: ReportSchedule
    /// The signing keys' folder, made with a first key when missing. Default `APIConfiguration.defaultKeyDirectory` (`callaudit-keys`).
    package var keyDirectory: URL
    /// The KEKs personal data is sealed under. Default: `kek.json` in the key folder, made on first start.
    package var keyEncryption: KeyEncryptionSource?
    /// A policy file replacing the built-in policy; nil for the built-in one.
    package var policyFile: String?
    /// How often ingest totals are logged. Default 60 s.
    package var statisticsInterval: Duration
    /// How long a graceful shutdown may take before the rest is cancelled. Default 9 s.
    package var shutdownTimeout: Duration
    /// How often the status behind `/v1/status`, `/readyz` and the gauges is sampled. Default 2 s.
    package var statusInterval: Duration
    /// When the log is sealed. Default: at least every 10 s, at most 10,000 events a seal.
    package var seals: SealSchedule
    /// Run as a superuser or the event tables' owner, which is refused otherwise. Default false (development only).
    package var allowPrivilegedRole: Bool
    /// Listen without TLS on an address other than loopback, which is refused otherwise (bearer tokens would
    /// cross the network in clear). Default false; for a TLS-terminating proxy on a private network.
    package var allowPlainHTTP: Bool

    package init(
        database: DatabaseConfiguration = DatabaseConfiguration(),
        ingest: IngestConfiguration = IngestConfiguration(),
        projections: ProjectionConfiguration = ProjectionConfiguration(),
        api: APIConfiguration = APIConfiguration(),
        reports: ReportSchedule = ReportSchedule(),
        keyDirectory: URL = APIConfiguration.defaultKeyDirectory,
        keyEncryption: KeyEncryptionSource? = nil,
        policyFile: String? = nil,
        statisticsInterval: Duration = .seconds(60),
        shutdownTimeout: Duration = .seconds(9),
        statusInterval: Duration = .seconds(2),
        seals: SealSchedule = SealSchedule(),
        allowPrivilegedRole: Bool = false,
        allowPlainHTTP: Bool = false
    ) {
        self.database = database
        self.ingest = ingest
        self.projections = projections
        self.api = api
        self.reports = reports
        self.keyDirectory = keyDirectory
        self.keyEncryption = keyEncryption
        self.policyFile = policyFile
        self.statisticsInterval = statisticsInterval
        self.shutdownTimeout = shutdownTimeout
        self.statusInterval = statusInterval
        self.seals = seals
        self.allowPrivilegedRole = allowPrivilegedRole
        self.allowPlainHTTP = allowPlainHTTP
    }

    /// Settings that cannot work, each with what to change. Errors name the
    /// setting by its path in this configuration (`ingest.maxBatchSize`); the
    /// command line says which of its flags sets it (`ConfigurationError.flag`).
    package func validate() throws(ConfigurationError) {
        func require(_ condition: Bool, _ setting: String, _ problem: String, value: String = "") throws(ConfigurationError) {
            if !condition { throw ConfigurationError(setting: setting, value: value, problem: problem) }
        }
        try require(ingest.maxBatchSize > 0, "ingest.maxBatchSize", "must be at least 1")
        try require(ingest.maxBatchDelay >= .zero, "ingest.maxBatchDelay", "must not be negative")
        try require(ingest.limits.maximumBytes > 0, "ingest.limits.maximumBytes", "must be at least 1")
        try require(ingest.limits.maximumAge > .zero, "ingest.limits.maximumAge", "must be at least 1 day")
        try require(ingest.limits.maximumLead >= .zero, "ingest.limits.maximumLead", "must not be negative")
        try require(projections.batchSize > 0, "projections.batchSize", "must be at least 1")
        try require(statisticsInterval > .zero, "statisticsInterval", "must be positive")
        try require(statusInterval >= .milliseconds(100), "statusInterval", "must be at least 100 ms")
        try require(seals.interval >= .seconds(1), "seals.interval", "must be at least 1 second")
        try require(seals.maxEvents >= 1 && seals.maxEvents <= 1_000_000, "seals.maxEvents", "must be between 1 and 1,000,000")
        try require(database.statementTimeout >= .zero, "database.statementTimeout", "must not be negative")
        try require(
            database.synchronousCommit.isDurableLocally, "database.synchronousCommit",
            "CallAudit's own records (requests, erasures, report reads, seals, reports) exist nowhere else: use on (or remote_apply, remote_write, local)",
            value: database.synchronousCommit.rawValue)
        try require(TimeZone(identifier: reports.timeZone) != nil, "reports.timeZone", "is not an IANA time zone (UTC, Europe/Berlin…)", value: reports.timeZone)
        try require(reports.closeDelay >= .zero, "reports.closeDelay", "must not be negative")
        try require(api.rateLimit >= 0, "api.rateLimit", "must not be negative")
        try require(api.authFailuresPerMinute >= 0, "api.authFailuresPerMinute", "must not be negative")
        try require(api.authFailureBurst >= 1, "api.authFailureBurst", "must be at least 1")
        try require(api.reportMaxRangeDays >= 1, "api.reportMaxRangeDays", "must be at least 1")
        try require(api.reportQueue >= 0, "api.reportQueue", "must not be negative")
        try require(api.reportCacheBytes >= 0, "api.reportCacheBytes", "must not be negative")
        try require(
            api.tls != nil || allowPlainHTTP || Self.isLoopback(api.host), "api.host",
            "bearer tokens would cross the network in clear: give the API a TLS certificate and key, or listen on 127.0.0.1 behind a TLS-terminating proxy (allowing plain HTTP is for a private network only)",
            value: "\(api.host):\(api.port)")
        if let tls = api.tls {
            for file in [tls.certificateChain, tls.privateKey] {
                try require(FileManager.default.isReadableFile(atPath: file), "api.tls", "cannot be read", value: file)
            }
        }
        // A reset that skips ("earliest", "latest") would pass silently over a retention gap; CallAudit always uses "error".
        try require(
            ingest.kafkaProperties["auto.offset.reset"].map { $0 == "error" } ?? true, "ingest.kafkaProperties",
            "cannot be set: CallAudit stops a partition whose position Kafka no longer has, and an operator accepts the gap (ops/runbooks/retention-gap.md); remove it",
            value: "auto.offset.reset")
        do {
            try ingest.consumerConfiguration.validate()
        } catch {
            throw ConfigurationError(
                setting: "ingest.kafkaProperties", value: error.property ?? "", problem: error.message,
                fix: "fix or remove it (the properties are librdkafka's, see its CONFIGURATION.md)")
        }
    }
}

extension ServeConfiguration {
    /// 127.0.0.0/8, ::1 and localhost: addresses no other machine reaches.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }
}

/// A setting that keeps the service from starting, and what to do about it.
///
/// It names the setting by its path in `ServeConfiguration` (`ingest.maxBatchSize`,
/// `keyDirectory`), the way the configuration is written; whoever set it from
/// elsewhere adds how (`flag`: the command line's `--batch-size`).
package struct ConfigurationError: Error, CustomStringConvertible {
    /// The setting's path in the configuration.
    package var setting: String
    /// What the setting holds where seeing it helps: a path, an address, a property's name. Never a secret.
    package var value: String
    package var problem: String
    package var fix: String
    /// How the setting was given (`--batch-size`), when the caller knows; nil otherwise.
    package var flag: String?

    package init(setting: String, value: String = "", problem: String, fix: String = "") {
        self.setting = setting
        self.value = value
        self.problem = problem
        self.fix = fix
    }

    /// `--batch-size (ingest.maxBatchSize): must be at least 1`, or without a flag
    /// `ingest.maxBatchSize: must be at least 1`; a value follows the name.
    package var description: String {
        let named = flag.map { "\($0)\(value.isEmpty ? "" : " \(value)") (\(setting))" } ?? "\(setting)\(value.isEmpty ? "" : " \(value)")"
        return "\(named): \(problem)\(fix.isEmpty ? "" : ". \(fix)")"
    }
}
