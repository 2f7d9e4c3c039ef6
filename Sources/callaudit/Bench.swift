import ArgumentParser
import CallAuditDomain
import CallAuditIngest
import CallAuditProjections
import CallAuditSimulator
import CallAuditStore
import Foundation
import Logging
import Synchronization

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (not tests): figures for BENCHMARKS.md.", subcommands: [IngestBench.self, ProjectionBench.self, LagBench.self])
}

/// Durable end-to-end ingest against the raw COPY rate, in one run.
///
/// Kafka (the mock cluster) and the backlog loader run as child processes, so
/// the peak RSS reported is the ingest's own.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load a simulated backlog into the dev Kafka, ingest it durably, and compare with psql \\copy of the same rows.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.2 events each).")
    var calls = 50_000

    @Option(help: "Partitions per topic in the benchmark's own mock cluster.")
    var partitions: Int32 = 48

    @Option(help: "Messages per transaction.")
    var batchSize = 5_000

    func run() throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let url = database.resolved
        try requireEmptyStore(url)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let bootstrapFile = scratch.appendingPathComponent("bootstrap").path
        let kafka = try child(["dev-kafka", "--bootstrap-file", bootstrapFile, "--partitions", String(partitions), "--log-level", "error"])
        defer { kafka.terminate(); kafka.waitUntilExit() }
        let brokers = try waitForFile(bootstrapFile)

        note("loading the backlog: \(calls) calls")
        let loader = try child(["simulate", "--brokers", brokers, "--calls", String(calls), "--malformed-rate", "0", "--seed", "1"], captureOutput: true)
        loader.process.waitUntilExit()
        let loaded = String(decoding: loader.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard loader.process.terminationStatus == 0, let messages = Int(loaded.split(separator: " ")[safe: 3] ?? "") else {
            throw ValidationError("loading the backlog failed: \(loaded)")
        }

        note("ingesting \(messages) events")
        let result = try ingest(brokers: brokers, url: url, messages: messages, logger: logger)
        let peakRSS = peakResidentMegabytes()

        note("raw COPY of the same rows")
        let copyRate = try rawCopyRate(url: url, scratch: scratch)

        let latencies = result.latencies.sorted()
        print("""
            machine:                 \(machineDescription())
            events:                  \(messages)
            end-to-end ingest:       \(Int(result.steadyRate)) events/s (first poll to last commit; \(Int(result.totalRate)) events/s including the consumer group join)
            raw psql \\copy:          \(Int(copyRate)) events/s (same rows, identically indexed table, one transaction)
            ingest / raw COPY:       \(String(format: "%.0f", result.steadyRate / copyRate * 100)) %
            batch commit latency:    p50 \(millis(latencies[latencies.count / 2])) ms, p99 \(millis(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) ms over \(latencies.count) batches
            peak RSS (ingest):       \(peakRSS) MB
            """)
    }

    private struct IngestResult {
        var steadyRate: Double
        var totalRate: Double
        var latencies: [Duration]
    }

    private func ingest(brokers: String, url: String, messages: Int, logger: Logger) throws -> IngestResult {
        let collected = Mutex<(latencies: [Duration], done: Int, firstStart: ContinuousClock.Instant?)>(([], 0, nil))
        let finished = DispatchSemaphore(value: 0)
        let configuration = IngestConfiguration(
            brokers: brokers, groupID: "bench", databaseURL: url, maxBatchSize: batchSize, maxBatchDelay: .milliseconds(100))
        let loop = IngestLoop(configuration: configuration, logger: logger) { outcome, count, latency in
            let done = collected.withLock { state in
                state.latencies.append(latency)
                state.done += count
                if state.firstStart == nil { state.firstStart = ContinuousClock.now - latency }
                return state.done
            }
            if done >= messages { finished.signal() }
        }
        let started = ContinuousClock.now
        let thread = Thread { do { try loop.run() } catch { note("ingest failed: \(error)") } }
        thread.start()
        finished.wait()
        let ended = ContinuousClock.now
        loop.requestStop()
        return collected.withLock { state in
            IngestResult(
                steadyRate: Double(messages) / state.firstStart!.duration(to: ended).inSeconds,
                totalRate: Double(messages) / started.duration(to: ended).inSeconds, latencies: state.latencies)
        }
    }

    /// psql `\copy` of the ingested rows, exported first, into a table with the same columns, indexes and constraints.
    private func rawCopyRate(url: String, scratch: URL) throws -> Double {
        let file = scratch.appendingPathComponent("rows.copy").path
        let columns = "stream, type, source, event_id, event_time, event, content_hash, kafka_topic, kafka_partition, kafka_offset"
        try psql(url, "\\copy (SELECT \(columns) FROM events ORDER BY position) TO '\(file)'")
        try psql(url, "DROP TABLE IF EXISTS bench_copy_baseline; CREATE TABLE bench_copy_baseline (LIKE events INCLUDING ALL)")
        defer { try? psql(url, "DROP TABLE IF EXISTS bench_copy_baseline") }
        let rows = Double(try PostgresConnection(conninfo: url).query("SELECT count(*) FROM events").scalar ?? "0") ?? 0
        let started = ContinuousClock.now
        try psql(url, "\\copy bench_copy_baseline (\(columns)) FROM '\(file)'")
        return rows / started.duration(to: .now).inSeconds
    }
}

/// Rebuild speed of each projection over a simulated log, and listing a month's findings.
struct ProjectionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Append a simulated log straight to the store, then time each projection's rebuild.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.2 events each).")
    var calls = 160_000

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        let store = EventStore(connection: try PostgresConnection(conninfo: url))
        var simulation = SimulationConfiguration()
        simulation.calls = calls
        simulation.spanSeconds = 30 * 86_400
        simulation.start = Timestamp(rfc3339: "2026-10-01T00:00:00Z")!
        var batch: [IncomingEvent] = []
        var appended = 0
        note("appending the log: \(calls) calls over 30 days")
        let decoder = EventDecoder()
        try TrafficSimulator(configuration: simulation).generate { message in
            let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
            guard case .success(let event) = decoder.decode(incoming) else { return }
            batch.append(IncomingEvent(event: event, origin: nil))
            if batch.count == 10_000 {
                try store.append(IngestBatch(events: batch), consumerGroup: "bench")
                appended += batch.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        try store.append(IngestBatch(events: batch), consumerGroup: "bench")
        appended += batch.count
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        print("machine:   \(machineDescription())")
        print("events:    \(appended) (\(calls) calls over 30 days)")
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        for projection in [DailyVolumeProjection(), ComplianceProjection(policy: .default, clock: { now })] as [any Projection] {
            let started = ContinuousClock.now
            let outcome = try ProjectionRunner(projection: projection, databaseURL: url, logger: logger).rebuild()
            let elapsed = started.duration(to: .now).inSeconds
            print(
                "rebuild \(pad(projection.name, 14)) \(outcome.events) events in \(String(format: "%.1f", elapsed)) s: "
                    + "\(Int(Double(outcome.events) / elapsed)) events/s\(outcome.inMemory ? " (in memory)" : "")")
        }
        let floor = try postgresFloor(url: url).inSeconds
        print(
            "PostgreSQL alone for the compliance rebuild's reads and writes: \(String(format: "%.1f", floor)) s "
                + "(at most \(Int(Double(appended) / floor)) events/s)")
        let connection = try PostgresConnection(conninfo: url)
        let started = ContinuousClock.now
        let rows = try connection.query(
            """
            SELECT occurred_at, rule, severity, call_id, recording_id, party_id, request_id, jurisdiction, citation, evidence, detail
            FROM findings WHERE occurred_at >= '2026-10-01' AND occurred_at < '2026-11-01' AND status = 'open' ORDER BY occurred_at, rule, id
            """)
        print("findings of the month: \(rows.count) listed in \(millis(started.duration(to: .now))) ms")
        print("peak RSS:  \(peakResidentMegabytes()) MB")
    }
}

/// What PostgreSQL alone spends on the compliance rebuild's I/O: psql reads
/// the log in rebuild order, then `\copy`s back every table the rebuild wrote,
/// as it wrote them, in a transaction it rolls back. No rebuild on this
/// database can be faster than this, whatever the Swift side does.
private func postgresFloor(url: String) throws -> Duration {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-floor-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let findingColumns = """
        rule, severity, occurred_at, call_id, recording_id, party_id, request_id, jurisdiction, citation, evidence, detail,
        policy_version, policy_hash, fingerprint, finding_key, subject, status
        """.replacingOccurrences(of: "\n", with: " ")
    let tables = [
        ("compliance_calls", "*"), ("compliance_recordings", "*"), ("compliance_holds", "*"), ("compliance_requests", "*"),
        ("compliance_subject_calls", "*"), ("compliance_deadlines", "*"), ("findings", findingColumns),
    ]
    for (table, columns) in tables {
        try psql(url, "\\copy (SELECT \(columns) FROM \(table)) TO '\(scratch.path)/\(table)'")
    }
    let script = scratch.appendingPathComponent("floor.sql")
    try ([
        "\\copy (SELECT transaction_id, position, stream, type, event_time, event FROM events ORDER BY transaction_id, position) TO '/dev/null'",
        "BEGIN;",
        "TRUNCATE finding_changes, findings, \(tables.dropLast().map(\.0).joined(separator: ", "));",
    ] + tables.map { table, columns in
        "\\copy \(table) \(columns == "*" ? "" : "(\(columns))") FROM '\(scratch.path)/\(table)'"
    } + [
        "INSERT INTO finding_changes (finding_id, change, log_position) SELECT id, 'raised', 1 FROM findings ORDER BY id;",
        "ROLLBACK;",
    ]).joined(separator: "\n").write(to: script, atomically: true, encoding: .utf8)
    let started = ContinuousClock.now
    try psql(url, file: script.path)
    return started.duration(to: .now)
}

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
            ProjectionRunner(projection: $0, databaseURL: url, logger: logger, pollInterval: .milliseconds(200))
        }
        runners.forEach { runner in Thread { runner.run() }.start() }
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

private func requireEmptyStore(_ url: String) throws {
    let connection = try PostgresConnection(conninfo: url)
    try Migrator(connection: connection, migrations: Migration.bundled()).requireCurrent()
    guard try connection.query("SELECT count(*) FROM events").scalar == "0" else {
        throw ValidationError("the benchmark needs an empty, migrated database (ops/bench makes one)")
    }
}

private struct Child {
    var process: Process
    var output: Pipe
    func terminate() { process.terminate() }
    func waitUntilExit() { process.waitUntilExit() }
}

private func child(_ arguments: [String], captureOutput: Bool = false) throws -> Child {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    if !process.executableURL!.path.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(CommandLine.arguments[0])
    }
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = captureOutput ? output : FileHandle.nullDevice
    try process.run()
    return Child(process: process, output: output)
}

private func psql(_ url: String, _ command: String? = nil, file: String? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let input = command.map { ["-c", $0] } ?? ["-f", file!]
    process.arguments = (["psql", url.isEmpty ? "" : url, "-qX", "-v", "ON_ERROR_STOP=1"] + input).filter { !$0.isEmpty }
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ValidationError("psql failed: \(command ?? file!)") }
}

private func waitForFile(_ path: String) throws -> String {
    for _ in 0..<200 {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw ValidationError("the benchmark's dev kafka did not start")
}

private func millis(_ d: Duration) -> String { String(format: "%.1f", d.inSeconds * 1000) }

/// VmHWM: the most resident memory this process has had.
func peakResidentMegabytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return -1 }
    return kilobytes / 1024
}

private func machineDescription() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
