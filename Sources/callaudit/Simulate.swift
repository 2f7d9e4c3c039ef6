import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditKafka
import CallAuditSimulator

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce a realistic, seeded stream of call, consent, access and deletion events to Kafka.")

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Random seed; the same seed gives the same stream.")
    var seed: UInt64 = 42

    @Option(help: "Number of calls.")
    var calls = 2_000

    @Option(help: "First day of the simulated span (YYYY-MM-DD, UTC).")
    var day = "2026-11-23"

    @Option(help: "Simulated span in hours.")
    var hours = 24

    @Option(help: "Share of calls that break a compliance rule (0-1).")
    var violationRate = 0.05

    @Option(help: "Share of calls followed by a malformed message (0-1).")
    var malformedRate = 0.01

    @Option(help: "Share of events sent in CloudEvents binary mode (0-1).")
    var binaryRate = 0.3

    @Option(help: "Messages per second; 0 sends as fast as possible.")
    var rate = 0.0

    @Option(help: "Stop after this many seconds of wall-clock time; 0 sends everything.")
    var duration = 0.0

    func validate() throws {
        guard calls >= 0 else { throw ValidationError("--calls must not be negative") }
        guard Timestamp(rfc3339: day + "T00:00:00Z") != nil else { throw ValidationError("--day \(day): use YYYY-MM-DD") }
        for (name, value) in [("--violation-rate", violationRate), ("--malformed-rate", malformedRate), ("--binary-rate", binaryRate)] {
            guard (0...1).contains(value) else { throw ValidationError("\(name) must be between 0 and 1") }
        }
        guard hours > 0 else { throw ValidationError("--hours must be at least 1") }
    }

    func run() throws {
        let logger = try logging.makeLogger(label: "callaudit.simulate")
        var simulation = SimulationConfiguration()
        simulation.seed = seed
        simulation.calls = calls
        simulation.start = Timestamp(rfc3339: day + "T00:00:00Z")!
        simulation.spanSeconds = Int64(hours) * 3_600
        simulation.violationRate = violationRate
        simulation.malformedRate = malformedRate
        simulation.binaryModeRate = binaryRate
        let producer = try KafkaProducer(
            configuration: SimulationRunner.producerConfiguration(brokers: kafka.resolvedBrokers, extra: try kafka.librdkafkaProperties()),
            logger: logger)
        let runner = SimulationRunner(simulation: simulation, topicNames: try kafka.topicNames(), rate: rate, maxDurationSeconds: duration)
        let progress = Progress("simulate", total: nil, unit: "messages")
        let report = try runner.run(producer: producer) { progress.update($0) }
        progress.finish(report.messages)
        let malformed = report.malformed.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
        print("simulated \(calls) calls: \(report.events) events and \(report.malformed.values.reduce(0, +)) malformed messages (\(malformed.joined(separator: " ")))")
        if report.failedDeliveries > 0 {
            throw ValidationError("\(report.failedDeliveries) message(s) were not delivered to Kafka")
        }
    }
}
