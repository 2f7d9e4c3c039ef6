import ArgumentParser
import CallAuditIngest
import CallAuditKafka
import CallAuditStore
import Foundation
import Logging

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest decisions only an operator can make.",
        subcommands: [AcceptGap.self])

    struct AcceptGap: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept-gap",
            abstract: "Accept that a partition lost messages CallAudit never read; ingest of it resumes.",
            discussion: """
                Only when /v1/status names a gap in the partition (its stored position below Kafka's low watermark, \
                or past its high watermark) or says ingest stopped it, and the messages cannot be brought back \
                (see ops/runbooks/retention-gap.md). A partition ingest stopped is accepted even once a recreated topic \
                has grown past the old position; one ingest did not stop, only when the watermarks show its gap. \
                Records an ingest.gap_accepted event in the log, with the offsets lost, the reason and who decided; \
                moves the partition's stored position to the oldest message Kafka keeps. A running serve resumes the \
                partition within seconds, and every report whose period the gap touches lists it under gaps in the evidence.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Bootstrap servers (default: $CALLAUDIT_KAFKA_BROKERS, else the file written by dev-kafka, else \(IngestConfiguration().brokers)).")
        var brokers: String?
        @Option(help: "Consumer group (default: $CALLAUDIT_KAFKA_GROUP, else \(IngestConfiguration().groupID)).") var group: String?
        @Option(name: .customLong("kafka-property"), help: "Any librdkafka property as key=value (SASL, SSL). Repeatable.")
        var properties: [String] = []
        @Option(help: "The Kafka topic, as /v1/status names it.") var topic: String
        @Option(help: "The partition.") var partition: Int32
        @Option(help: "Why the messages cannot be brought back (recorded in the event and the reports).") var reason: String
        @Option(help: "Who is deciding, as recorded in the event (default: $USER).") var by: String?
        @Option(help: "The role the decision is taken in: ops or admin.") var role: String = "ops"

        func run() throws {
            guard ["ops", "admin"].contains(role) else { throw ValidationError("--role is ops or admin") }
            guard partition >= 0 else { throw ValidationError("--partition must not be negative") }
            var properties = ["bootstrap.servers": KafkaOptions.brokers(brokers)]
            for pair in try KafkaOptions.pairs(self.properties, flag: "--kafka-property") { properties[pair.key] = pair.value }
            let tp = TopicPartition(topic: topic, partition: partition)
            let range: Watermarks
            do {
                let client = try KafkaWatermarks(configuration: KafkaConfiguration(properties), logger: Logger(label: "callaudit.accept-gap"))
                guard let found = try client.watermarks(topics: [topic], timeout: .seconds(10))[tp] else {
                    throw ValidationError("Kafka has no partition \(tp)")
                }
                range = found
            } catch let error as KafkaError {
                throw ValidationError("could not ask Kafka for the watermarks of \(tp): \(error.message)")
            }
            let actor = (name: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator", role: role)
            do {
                let accepted = try GapAcceptance(connection: try database.connect()).accept(
                    tp, consumerGroup: KafkaOptions.group(group), watermarks: range, reason: reason, by: actor)
                let gap = accepted.gap
                print("gap \(accepted.eventID) accepted in \(tp): \(gap.messages) offsets lost (\(gap.lostOffsets.lowerBound) to \(gap.lostOffsets.upperBound - 1), \(gap.kind.rawValue)\(accepted.wasHeld ? ", as seen when ingest stopped it" : "")); ingest resumes at \(accepted.resumeOffset)")
            } catch let error as GapAcceptanceError {
                throw ValidationError(error.description)
            }
        }
    }
}
