import CallAuditDomain
import CallAuditKafka
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What a simulation run sent.
package struct SimulationReport: Sendable {
    package var events = 0
    package var malformed: [RejectionReason: Int] = [:]
    package var failedDeliveries = 0

    package var messages: Int { events + malformed.values.reduce(0, +) }
}

/// Sends a simulation to Kafka, optionally paced.
package struct SimulationRunner {
    package var simulation: SimulationConfiguration
    package var topicNames: [Topic: String]
    /// Messages per second; 0 sends as fast as the broker takes them.
    package var rate: Double
    /// Wall-clock limit in seconds; 0 sends everything.
    package var maxDurationSeconds: Double

    package init(simulation: SimulationConfiguration, topicNames: [Topic: String], rate: Double = 0, maxDurationSeconds: Double = 0) {
        self.simulation = simulation
        self.topicNames = topicNames
        self.rate = rate
        self.maxDurationSeconds = maxDurationSeconds
    }

    /// `progress` is told how many messages have been produced so far.
    package func run(producer: KafkaProducer, progress: ((Int) -> Void)? = nil) throws -> SimulationReport {
        var report = SimulationReport()
        let started = ContinuousClock.now
        struct Stop: Error {}
        do {
            try TrafficSimulator(configuration: simulation).generate { message in
                let elapsed = started.duration(to: .now).inSeconds
                if maxDurationSeconds > 0, elapsed >= maxDurationSeconds { throw Stop() }
                if rate > 0 {
                    let due = Double(report.messages) / rate
                    if due > elapsed { usleep(UInt32((due - elapsed) * 1_000_000)) }
                }
                try producer.produce(
                    topic: topicNames[message.topic] ?? message.topic.rawValue, key: Array(message.key.utf8),
                    value: message.value, headers: message.headers)
                if let reason = message.expectedRejection {
                    report.malformed[reason, default: 0] += 1
                } else {
                    report.events += 1
                }
                progress?(report.messages)
            }
        } catch is Stop {}
        try producer.flush()
        report.failedDeliveries = producer.failed
        return report
    }

    /// Producer settings for bulk loading: large batches, compressed so the
    /// mock cluster's ~5 MB per partition holds more.
    package static func producerConfiguration(brokers: String, extra: [String: String] = [:]) -> KafkaConfiguration {
        var properties = [
            "bootstrap.servers": brokers, "linger.ms": "20", "batch.num.messages": "10000",
            "compression.type": "lz4", "acks": "all", "client.id": "callaudit-simulator",
            "message.max.bytes": "2000000",
        ]
        properties.merge(extra) { _, e in e }
        return KafkaConfiguration(properties)
    }
}
