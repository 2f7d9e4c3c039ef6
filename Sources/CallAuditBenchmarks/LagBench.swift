import ArgumentParser
import CallAuditDomain
import CallAuditIngest
import CallAuditProjections
import CallAuditSimulator
import CallAuditStore
import Foundation
import Logging
import Synchronization

/// How far projections trail a sustained append rate: per batch, the time
/// from its commit until each projection's checkpoint covers it.
struct LagBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag", abstract: "Append at a steady rate while the projections run; report their lag per batch.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Events per second to append.") var rate = 10_000
    @Option(help: "Seconds to keep appending.") var duration = 20

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        let perBatch = max(rate / 10, 1)
        note("generating \(rate * duration) events")
        var simulation = SimulationConfiguration()
        simulation.calls = rate * duration / 6 + 100
        var events: [IncomingEvent] = []
        let decoder = EventDecoder()
        TrafficSimulator(configuration: simulation).generate { message in
            guard events.count < rate * duration else { return }
            let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
            if case .success(let event) = decoder.decode(incoming) { events.append(IncomingEvent(event: event, origin: nil)) }
        }
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let projections: [any Projection] = [DailyVolumeProjection(), ComplianceProjection(policy: .default)]
        let runners = projections.map {
            ProjectionRunner(
                projection: $0, configuration: ProjectionConfiguration(database: DatabaseConfiguration(url: url), pollInterval: .milliseconds(200)),
                logger: logger)
        }
        runners.forEach { runner in Thread { try? runner.run() }.start() }
        Thread.sleep(forTimeInterval: 1)

        // Appender: one batch every 100 ms; remembers each batch's commit time and last cursor.
        let committed = CommittedBatches()
        let backlog = events
        let appender = Thread {
            let store = EventStore(connection: try! PostgresConnection(conninfo: url))
            let lookup = try! PostgresConnection(conninfo: url)
            let events = backlog
            let start = ContinuousClock.now
            for (index, offset) in stride(from: 0, to: events.count, by: perBatch).enumerated() {
                let due = start + .milliseconds(100 * index)
                if ContinuousClock.now < due { Thread.sleep(forTimeInterval: ContinuousClock.now.duration(to: due).inSeconds) }
                let batch = Array(events[offset..<min(offset + perBatch, events.count)])
                try! store.append(IngestBatch(events: batch), consumerGroup: "lag")
                let at = ContinuousClock.now
                let last = batch.last!.event
                let row = try! lookup.query(
                    "SELECT transaction_id::text, position FROM events WHERE source = $1 AND event_id = $2", [.text(last.source), .text(last.id)]
                ).rows[0]
                committed.batches.withLock { $0.append((at, LogCursor(transactionID: UInt64(row[0]!)!, position: Int64(row[1]!)!))) }
            }
        }
        appender.start()

        // Monitor: samples checkpoints every 20 ms until every batch is covered (or 60 s after the last).
        var lags: [String: [Duration]] = Dictionary(uniqueKeysWithValues: projections.map { ($0.name, []) })
        var covered: [String: Int] = Dictionary(uniqueKeysWithValues: projections.map { ($0.name, 0) })
        let monitor = try PostgresConnection(conninfo: url)
        let batches = (events.count + perBatch - 1) / perBatch
        let deadline = ContinuousClock.now + .seconds(duration + 60)
        while covered.values.contains(where: { $0 < batches }), ContinuousClock.now < deadline {
            let cursors = try ProjectionCheckpoints(connection: monitor).all()
            let now = ContinuousClock.now
            let done = committed.batches.withLock { $0 }
            for status in cursors where lags[status.projection] != nil {
                while covered[status.projection]! < done.count, done[covered[status.projection]!].cursor <= status.cursor {
                    lags[status.projection]!.append(done[covered[status.projection]!].at.duration(to: now))
                    covered[status.projection]! += 1
                }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        runners.forEach { $0.requestStop() }
        print("machine:  \(machineDescription())")
        let appended = committed.batches.withLock { $0 }
        let span = appended.count > 1 ? appended.first!.at.duration(to: appended.last!.at).inSeconds : 0
        print("appended: \(events.count) events in \(batches) batches of \(perBatch), aiming at \(rate) events/s for \(duration) s; achieved \(span > 0 ? Int(Double(events.count - perBatch) / span) : 0) events/s")
        for projection in projections {
            let sorted = lags[projection.name]!.sorted()
            guard !sorted.isEmpty else { print("\(projection.name): no batch covered"); continue }
            let p = { (q: Int) in millis(sorted[min(sorted.count - 1, sorted.count * q / 100)]) }
            print("lag \(pad(projection.name, 14)) p50 \(p(50)) ms, p99 \(p(99)) ms, max \(millis(sorted.last!)) ms; \(sorted.count) of \(batches) batches covered")
        }
    }
}

/// Commit time and last cursor of each appended batch, shared between the appender and the monitor.
private final class CommittedBatches: Sendable {
    let batches = Mutex<[(at: ContinuousClock.Instant, cursor: LogCursor)]>([])
}
