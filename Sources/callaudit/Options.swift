import ArgumentParser
import CallAuditApp
import CallAuditDomain
import CallAuditStore
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

    @Option(help: "Seconds a statement may run before PostgreSQL cancels it; 0 for no limit (default: $CALLAUDIT_STATEMENT_TIMEOUT, else 60).")
    var statementTimeout: Int?

    var resolved: String { url ?? environment["CALLAUDIT_DATABASE_URL"] ?? "" }

    /// The service's sessions: keepalives, `tcp_user_timeout`, statement and idle-in-transaction limits.
    func configuration() throws -> DatabaseConfiguration {
        var configuration = DatabaseConfiguration(url: resolved)
        if let seconds = try setting(statementTimeout, "CALLAUDIT_STATEMENT_TIMEOUT", "--statement-timeout") {
            guard seconds >= 0 else { throw ValidationError("--statement-timeout must not be negative") }
            configuration.statementTimeout = .seconds(seconds)
        }
        return configuration
    }

    /// A connection for a one-off command.
    func connect() throws -> PostgresConnection { try PostgresConnection(conninfo: resolved) }
}

/// Where Kafka is and how to read it. Flags, then `CALLAUDIT_KAFKA_*` variables.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Bootstrap servers (default: $CALLAUDIT_KAFKA_BROKERS, else the file written by dev-kafka, else localhost:9092).")
    var brokers: String?

    @Option(help: "Consumer group (default: $CALLAUDIT_KAFKA_GROUP, else callaudit-ingest).")
    var group: String?

    @Option(name: .customLong("topic"), help: "Topic name for a contract topic, as contract=name (e.g. calls=pbx.calls). Repeatable.")
    var topics: [String] = []

    @Option(name: .customLong("kafka-property"), help: "Any librdkafka property as key=value (SASL, SSL, tuning). Repeatable.")
    var properties: [String] = []

    var resolvedBrokers: String {
        if let brokers { return brokers }
        if let fromEnvironment = environment["CALLAUDIT_KAFKA_BROKERS"] { return fromEnvironment }
        if let written = try? String(contentsOfFile: DevKafka.defaultBootstrapFile, encoding: .utf8) {
            return written.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return "localhost:9092"
    }

    var resolvedGroup: String { group ?? environment["CALLAUDIT_KAFKA_GROUP"] ?? "callaudit-ingest" }

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

    @Option(help: "Event times more than this many days old are dead-lettered as bad_time (default: $CALLAUDIT_MAX_EVENT_AGE_DAYS, else 7320).")
    var maxEventAgeDays: Int?

    @Option(help: "Event times more than this many hours ahead are dead-lettered as bad_time (default: $CALLAUDIT_MAX_EVENT_LEAD_HOURS, else 24).")
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

    func load() throws -> Policy { try Policy.load(file: resolvedPath) }
}

/// Prints to standard error, for progress and diagnostics that are not the command's output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
