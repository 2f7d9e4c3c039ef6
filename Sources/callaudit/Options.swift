import ArgumentParser
import CallAuditDomain
import Foundation
import Logging

private let environment = ProcessInfo.processInfo.environment

/// Where PostgreSQL is. Flag, then `CALLAUDIT_DATABASE_URL`, then libpq's own `PG*` variables.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "libpq URI or key=value string (default: $CALLAUDIT_DATABASE_URL, else libpq's PG* variables).")
    var url: String?

    var resolved: String { url ?? environment["CALLAUDIT_DATABASE_URL"] ?? "" }
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

struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (default: $CALLAUDIT_LOG_LEVEL, else info).")
    var logLevel: String?

    func makeLogger(label: String) throws -> Logger {
        let text = logLevel ?? environment["CALLAUDIT_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw ValidationError("--log-level \(text): use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Prints to standard error, for progress and diagnostics that are not the command's output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
