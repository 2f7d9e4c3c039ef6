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
    /// The signing keys' folder, made with a first key when missing. Default `callaudit-keys`.
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
        keyDirectory: URL = URL(fileURLWithPath: "callaudit-keys"),
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

    /// Settings that cannot work, each with what to change.
    package func validate() throws(ConfigurationError) {
        func require(_ condition: Bool, _ setting: String, _ problem: String) throws(ConfigurationError) {
            if !condition { throw ConfigurationError(setting: setting, problem: problem) }
        }
        try require(ingest.maxBatchSize > 0, "--batch-size", "must be at least 1")
        try require(ingest.maxBatchDelay >= .zero, "--batch-delay-ms", "must not be negative")
        try require(ingest.limits.maximumBytes > 0, "--max-message-bytes", "must be at least 1")
        try require(ingest.limits.maximumAge > .zero, "--max-event-age-days", "must be at least 1")
        try require(ingest.limits.maximumLead >= .zero, "--max-event-lead-hours", "must not be negative")
        try require(projections.batchSize > 0, "--projection-batch-size", "must be at least 1")
        try require(statisticsInterval > .zero, "--statistics-interval", "must be positive")
        try require(statusInterval >= .milliseconds(100), "--status-interval-ms", "must be at least 100")
        try require(seals.interval >= .seconds(1), "--seal-interval", "must be at least 1 second")
        try require(seals.maxEvents >= 1 && seals.maxEvents <= 1_000_000, "--seal-max-events", "must be between 1 and 1,000,000")
        try require(database.statementTimeout >= .zero, "--statement-timeout", "must not be negative")
        try require(
            database.synchronousCommit.isDurableLocally, "--synchronous-commit off",
            "CallAudit's own records (requests, erasures, report reads, seals, reports) exist nowhere else: use on (or remote_apply, remote_write, local)")
        try require(TimeZone(identifier: reports.timeZone) != nil, "--report-time-zone \(reports.timeZone)", "is not an IANA time zone (UTC, Europe/Berlin…)")
        try require(reports.closeDelay >= .zero, "--report-close-delay-hours", "must not be negative")
        try require(api.rateLimit >= 0, "--rate-limit", "must not be negative")
        try require(api.authFailuresPerMinute >= 0, "--auth-failures-per-minute", "must not be negative")
        try require(api.authFailureBurst >= 1, "--auth-failure-burst", "must be at least 1")
        try require(api.reportMaxRangeDays >= 1, "--report-max-range-days", "must be at least 1")
        try require(api.reportQueue >= 0, "--report-queue", "must not be negative")
        try require(api.reportCacheBytes >= 0, "--report-cache-mib", "must not be negative")
        try require(
            api.tls != nil || allowPlainHTTP || Self.isLoopback(api.host), "--http-address \(api.host):\(api.port)",
            "bearer tokens would cross the network in clear: give --tls-certificate and --tls-key, or listen on 127.0.0.1 behind a TLS-terminating proxy (--allow-plain-http permits plain HTTP on a private network)")
        if let tls = api.tls {
            for file in [tls.certificateChain, tls.privateKey] {
                try require(FileManager.default.isReadableFile(atPath: file), "--tls-certificate/--tls-key \(file)", "cannot be read")
            }
        }
        // A reset that skips ("earliest", "latest") would pass silently over a retention gap; CallAudit always uses "error".
        try require(
            ingest.kafkaProperties["auto.offset.reset"].map { $0 == "error" } ?? true, "--kafka-property auto.offset.reset",
            "cannot be set: CallAudit stops a partition whose position Kafka no longer has, and an operator accepts the gap (ops/runbooks/retention-gap.md); remove it")
        do {
            try ingest.consumerConfiguration.validate()
        } catch {
            throw ConfigurationError(
                setting: error.property.map { "--kafka-property \($0)" } ?? "--kafka-property", problem: error.message,
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
package struct ConfigurationError: Error, CustomStringConvertible {
    package var setting: String
    package var problem: String
    package var fix: String

    package init(setting: String, problem: String, fix: String = "") {
        self.setting = setting
        self.problem = problem
        self.fix = fix
    }

    package var description: String { "\(setting): \(problem)\(fix.isEmpty ? "" : ". \(fix)")" }
}
