import ArgumentParser
import CallAuditDomain
import CallAuditKafka
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct DevKafka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-kafka",
        abstract: "Run librdkafka's mock cluster on localhost with the four topics, for development and tests.",
        discussion: """
            Prints the bootstrap address and writes it to --bootstrap-file, so kcat or any Kafka client can use it.
            The mock keeps only about 5 MB per partition: topics get enough partitions for a day of simulated traffic.
            Runs until SIGTERM or SIGINT.
            """)

    static let defaultBootstrapFile = ".dev/kafka.bootstrap"

    @Option(help: "Number of mock brokers.")
    var brokerCount: Int32 = 3

    @Option(help: "Partitions per topic.")
    var partitions: Int32 = 32

    @Option(help: "Where to write the bootstrap address.")
    var bootstrapFile = DevKafka.defaultBootstrapFile

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard brokerCount >= 1 else { throw ValidationError("--broker-count must be at least 1") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
    }

    func run() throws {
        let logger = try logging.makeLogger(label: "callaudit.dev-kafka")
        let cluster = try KafkaMockCluster(brokers: brokerCount, logger: logger)
        for topic in try kafka.topicNames().values.sorted() {
            try cluster.createTopic(topic, partitions: partitions)
        }
        let directory = (bootstrapFile as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try (cluster.bootstrapServers + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        print(cluster.bootstrapServers)
        fflush(nil)
        note("dev kafka: \(brokerCount) broker(s), topics \(try kafka.topicNames().values.sorted().joined(separator: ", ")) with \(partitions) partitions each; bootstrap written to \(bootstrapFile)")
        waitForTerminationSignal()
        try? FileManager.default.removeItem(atPath: bootstrapFile)
        withExtendedLifetime(cluster) {}
    }
}

/// Blocks until SIGTERM or SIGINT.
func waitForTerminationSignal() {
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    var received: Int32 = 0
    sigwait(&signals, &received)
}
