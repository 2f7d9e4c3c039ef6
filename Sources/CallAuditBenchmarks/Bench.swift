import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation

/// The benchmarks behind BENCHMARKS.md. They measure; they are not tests.
/// `ops/bench` runs them on a fresh, migrated database.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callaudit-bench",
        abstract: "Benchmarks (not tests): figures for BENCHMARKS.md.",
        subcommands: [IngestBench.self, ProjectionBench.self, LagBench.self, DecodeBench.self, FactScanBench.self, ReportBench.self, APIBench.self, SubjectBench.self, VerifyStoreBench.self, ScaleOutBench.self])
}

/// Where PostgreSQL is: the flag, else `CALLAUDIT_DATABASE_URL`, else libpq's `PG*` variables.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq URI or key=value string.")
    var url: String?

    var resolved: String { url ?? ProcessInfo.processInfo.environment["CALLAUDIT_DATABASE_URL"] ?? "" }
}

/// The `callaudit` executable built beside this one: the benchmarks run its dev Kafka and simulator as child processes.
let callauditExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
    .appendingPathComponent("callaudit")

/// Progress on standard error; the figures go to standard output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// Appends a seeded simulation of `calls` calls over 30 days from 2026-10-01
/// straight to the store, 10,000 events a transaction; returns how many.
/// With a vault, personal data is sealed first, as ingest seals it; `observe`
/// sees each event as decoded.
func appendSimulatedLog(
    url: String, calls: Int, days: Int64 = 30, start: String = "2026-10-01T00:00:00Z", vault: SubjectVault? = nil,
    observe: ((DecodedEvent) -> Void)? = nil
) throws -> Int {
    let store = EventStore(connection: try PostgresConnection(conninfo: url))
    var simulation = SimulationConfiguration()
    simulation.calls = calls
    simulation.spanSeconds = days * 86_400
    simulation.start = Timestamp(rfc3339: start)!
    var batch: [IncomingEvent] = []
    var appended = 0
    let decoder = EventDecoder()
    // About 6.2 events per simulated call.
    let progress = Progress("append", total: calls * 62 / 10, unit: "events")
    defer { progress.finish(appended) }
    try TrafficSimulator(configuration: simulation).generate { message in
        let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
        guard case .success(let event) = decoder.decode(incoming) else { return }
        observe?(event)
        batch.append(IncomingEvent(event: event, origin: nil))
        if batch.count == 10_000 {
            if let vault { batch = try vault.seal(batch, on: store.connection) }
            try store.append(IngestBatch(events: batch), consumerGroup: "bench")
            appended += batch.count
            progress.update(appended)
            batch.removeAll(keepingCapacity: true)
        }
    }
    if let vault { batch = try vault.seal(batch, on: store.connection) }
    try store.append(IngestBatch(events: batch), consumerGroup: "bench")
    appended += batch.count
    return appended
}

func requireEmptyStore(_ url: String) throws {
    let connection = try PostgresConnection(conninfo: url)
    try Migrator(connection: connection, migrations: Migration.bundled()).requireCurrent()
    guard try connection.query("SELECT count(*) FROM events").scalar == "0" else {
        throw ValidationError("the benchmark needs an empty, migrated database (ops/bench makes one)")
    }
}

struct Child {
    var process: Process
    var output: Pipe
    func terminate() { process.terminate() }
    func waitUntilExit() { process.waitUntilExit() }
}

func child(_ arguments: [String], captureOutput: Bool = false) throws -> Child {
    let process = Process()
    process.executableURL = callauditExecutable
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = captureOutput ? output : FileHandle.nullDevice
    try process.run()
    return Child(process: process, output: output)
}

func psql(_ url: String, _ command: String? = nil, file: String? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let input = command.map { ["-c", $0] } ?? ["-f", file!]
    process.arguments = (["psql", url.isEmpty ? "" : url, "-qX", "-v", "ON_ERROR_STOP=1"] + input).filter { !$0.isEmpty }
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ValidationError("psql failed: \(command ?? file!)") }
}

/// A scratch directory and the benchmark's own dev Kafka cluster, in a child
/// process so the benchmark's figures are its own; `stop()` ends both.
struct BenchCluster {
    let scratch: URL
    let brokers: String
    private let kafka: Child

    init(partitions: Int32) throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let bootstrapFile = scratch.appendingPathComponent("bootstrap").path
        do {
            kafka = try child(["dev-kafka", "--bootstrap-file", bootstrapFile, "--partitions", String(partitions), "--log-level", "error"])
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
        do {
            brokers = try waitForFile(bootstrapFile)
        } catch {
            kafka.terminate()
            kafka.waitUntilExit()
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }

    func stop() {
        kafka.terminate()
        kafka.waitUntilExit()
        try? FileManager.default.removeItem(at: scratch)
    }
}

/// Simulated calls produced into the dev Kafka by a child process, every
/// message valid (seed 1, as every ingest benchmark uses). Returns the messages produced.
func loadBacklog(brokers: String, calls: Int) throws -> Int {
    note("loading the backlog: \(calls) calls")
    let loader = try child(["simulate", "--brokers", brokers, "--calls", String(calls), "--malformed-rate", "0", "--seed", "1"], captureOutput: true)
    loader.process.waitUntilExit()
    let loaded = String(decoding: loader.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard loader.process.terminationStatus == 0, let messages = Int(loaded.split(separator: " ")[safe: 3] ?? "") else {
        throw ValidationError("loading the backlog failed: \(loaded)")
    }
    return messages
}

func waitForFile(_ path: String) throws -> String {
    for _ in 0..<200 {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw ValidationError("the benchmark's dev kafka did not start")
}

func millis(_ d: Duration) -> String { String(format: "%.1f", d.inSeconds * 1000) }

/// VmHWM: the most resident memory this process has had.
func peakResidentMegabytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return -1 }
    return kilobytes / 1024
}

func machineDescription() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
