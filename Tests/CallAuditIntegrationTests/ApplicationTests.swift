import CallAuditApp
import CallAuditIngest
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("The composition root")
struct ApplicationTests {
    final class Captured: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    @Test("a line repeated within the window is held back and counted; the next one after it says how many")
    func repeatedLinesAreRateLimited() {
        let captured = Captured()
        let handler = RateLimitedLogHandler(wrapping: ForwardingHandler(target: captured), window: .milliseconds(300))
        let logger = Logger(label: "test", factory: { _ in handler })
        for _ in 0..<1_000 { logger.warning("ingest totals") }
        logger.warning("something else")
        #expect(captured.lines.withLock { $0.map(\.message) } == ["ingest totals", "something else"])
        Thread.sleep(forTimeInterval: 0.4)
        logger.warning("ingest totals")
        let last = captured.lines.withLock { $0.last }
        #expect(last?.message == "ingest totals")
        #expect(last?.metadata["log.suppressed"] == "999")
    }

    /// Keeps what it is asked to log in `target`.
    struct ForwardingHandler: LogHandler {
        let target: Captured
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        func log(event: LogEvent) { target.lines.withLock { $0.append(("\(event.message)", event.metadata ?? [:])) } }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }

    @Test("settings that cannot work are refused before anything starts, naming the setting")
    func validation() {
        var configuration = ServeConfiguration()
        configuration.ingest.kafkaProperties = ["no.such.property": "1"]
        var kafka = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        // Named by the configuration's own path; the command line adds its flag (`SettingFlags`).
        #expect(kafka?.setting == "ingest.kafkaProperties" && kafka?.value == "no.such.property")
        #expect(kafka?.description.hasPrefix("ingest.kafkaProperties no.such.property: ") == true)
        kafka?.flag = "--kafka-property"
        #expect(kafka?.description.hasPrefix("--kafka-property no.such.property (ingest.kafkaProperties): ") == true)
        configuration = ServeConfiguration()
        configuration.ingest.maxBatchSize = 0
        let batch = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(batch?.description == "ingest.maxBatchSize: must be at least 1")
        #expect(throws: Never.self) { try ServeConfiguration().validate() }
    }

    /// A work that, once told to stop, takes `windDown` to end (a consumer leaving its
    /// group, a watermark query waiting on brokers that are down), then throws `error` if any.
    private static func slowToStop(_ name: String, windDown: Double, error: (any Error)? = nil) -> BlockingWork {
        let told = DispatchSemaphore(value: 0)
        return BlockingWork(
            description: name,
            work: {
                told.wait()
                Thread.sleep(forTimeInterval: windDown)
                if let error { throw error }
            },
            stop: { told.signal() })
    }

    @Test("blocking works stop together: a graceful shutdown waits for the slowest (past the wind-down a failure gets), not for the sum")
    func blockingWorksStopTogether() async throws {
        let members = (1...4).map { Self.slowToStop("work \($0)", windDown: 1.5) }
        let services = BlockingServices(members: members, windDown: .milliseconds(500), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [services], logger: Logger(label: "test"))
        async let ran: Void = group.run()
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await ran
        let took = started.duration(to: .now)
        // One after another, as the group stops separate services, they took 6 s.
        #expect(took >= .seconds(1.5) && took < .seconds(4), "took \(took)")
    }

    struct Fatal: Error, Equatable {}

    @Test("the first blocking work to fail stops the others, and its error is what the group throws", .timeLimit(.minutes(1)))
    func firstFailureStopsTheRest() async throws {
        let unstopped = Self.slowToStop("waits to be told", windDown: 0)
        let failing = BlockingWork(description: "fails", work: { throw Fatal() }, stop: {})
        let services = BlockingServices(members: [unstopped, failing], windDown: .seconds(10), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [services], logger: Logger(label: "test"))
        await #expect(throws: Fatal.self) { try await group.run() }
    }

    @Test("a failure while another work ignores its stop (stuck behind a lock): the group is told within the wind-down, not when the stuck one ends", .timeLimit(.minutes(1)))
    func failureWhileAnotherIsStuck() async throws {
        let stuck = BlockingWork(description: "stuck", work: { Thread.sleep(forTimeInterval: 12) }, stop: {})
        let failing = BlockingWork(description: "fails", work: { Thread.sleep(forTimeInterval: 0.2); throw Fatal() }, stop: {})
        let services = BlockingServices(members: [stuck, failing], windDown: .seconds(1), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [services], logger: Logger(label: "test"))
        let started = ContinuousClock.now
        await #expect(throws: Fatal.self) { try await group.run() }
        let took = started.duration(to: .now)
        #expect(took >= .seconds(1.2) && took < .seconds(6), "took \(took)")
    }
}
