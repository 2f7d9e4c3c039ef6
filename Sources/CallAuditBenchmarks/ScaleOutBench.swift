import ArgumentParser
import CallAuditStore
import Foundation

/// The ingest benchmark's backlog consumed by whole `callaudit serve`
/// processes in one consumer group (`--ingest-membership group`): one
/// instance into one database, then two instances into another, in one run.
/// Reports each run's rate, which partitions each instance held, and whether
/// every Kafka message is stored exactly once.
struct ScaleOutBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-out", abstract: "Ingest one backlog with one serve instance, then with two in one consumer group.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "A second empty, migrated database, for the two-instance run.")
    var pairDatabaseURL: String

    @Option(help: "Calls to simulate (about 6.2 events each).")
    var calls = 50_000

    @Option(help: "Partitions per topic in the benchmark's own mock cluster.")
    var partitions: Int32 = 64

    func run() throws {
        try requireEmptyStore(database.resolved)
        try requireEmptyStore(pairDatabaseURL)
        let cluster = try BenchCluster(partitions: partitions)
        defer { cluster.stop() }
        let (scratch, brokers) = (cluster.scratch, cluster.brokers)
        let messages = try loadBacklog(brokers: brokers, calls: calls)

        print("machine:   \(machineDescription())")
        print("backlog:   \(messages) messages, \(partitions) partitions per topic")
        for (instances, url) in [(1, database.resolved), (2, pairDatabaseURL)] {
            note("consuming the backlog with \(instances) serve instance(s) in group scale-\(instances)")
            let run = try consume(instances: instances, url: url, brokers: brokers, messages: messages, scratch: scratch)
            print(run.report)
        }
    }

    private struct Run {
        var instances: Int
        var steadyRate: Double
        var wallRate: Double
        var assignments: [String]
        var check: String

        var report: String {
            var lines = [
                "\(instances) instance(s): \(Int(steadyRate)) events/s (first to last commit), \(Int(wallRate)) events/s from start-up",
            ]
            for (index, assignment) in assignments.enumerated() { lines.append("  instance \(index + 1) held: \(assignment)") }
            lines.append("  exactly once: \(check)")
            return lines.joined(separator: "\n")
        }
    }

    private func consume(instances: Int, url: String, brokers: String, messages: Int, scratch: URL) throws -> Run {
        let keys = scratch.appendingPathComponent("keys-\(instances)").path
        let logs = (1...instances).map { scratch.appendingPathComponent("serve-\(instances)-\($0).log") }
        let started = ContinuousClock.now
        var serves: [Process] = []
        defer {
            for serve in serves { serve.terminate() }
            for serve in serves { serve.waitUntilExit() }
        }
        for (index, log) in logs.enumerated() {
            serves.append(try serve(url: url, brokers: brokers, group: "scale-\(instances)", keys: keys, port: 18_500 + instances * 10 + index, log: log))
            // The first instance creates the key directory; the others read it.
            if index == 0 { Thread.sleep(forTimeInterval: 1) }
        }
        let connection = try PostgresConnection(conninfo: url)
        let deadline = ContinuousClock.now + .seconds(600)
        while Int(try connection.query("SELECT count(*) FROM events WHERE kafka_topic IS NOT NULL").scalar ?? "0")! < messages {
            guard ContinuousClock.now < deadline, serves.allSatisfy(\.isRunning) else {
                throw ValidationError("ingest did not finish; see the logs in \(scratch.path)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let wall = started.duration(to: .now).inSeconds
        let span = Double(
            try connection.query(
                "SELECT extract(epoch FROM max(ingested_at) - min(ingested_at)) FROM events WHERE kafka_topic IS NOT NULL"
            ).scalar ?? "0") ?? 0
        return Run(
            instances: instances, steadyRate: Double(messages) / max(span, 0.001), wallRate: Double(messages) / wall,
            assignments: try logs.map(Self.finalAssignment), check: try Self.exactlyOnce(connection, messages: messages))
    }

    private func serve(url: String, brokers: String, group: String, keys: String, port: Int, log: URL) throws -> Process {
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = callauditExecutable
        process.arguments = [
            "serve", "--database-url", url, "--brokers", brokers, "--group", group, "--ingest-membership", "group", "--key-dir", keys,
            "--http-address", "127.0.0.1:\(port)", "--log-level", "info",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        return process
    }

    /// What an instance held at the end: every assignment and revocation in its log, in order.
    private static func finalAssignment(_ log: URL) throws -> String {
        var held: [String: Set<Int>] = [:]
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let assigned = line.hasSuffix("partitions assigned")
            guard assigned || line.hasSuffix("partitions revoked"),
                let field = line.split(separator: " ").first(where: { $0.hasPrefix("kafka.assignment=") })
            else { continue }
            for topic in field.dropFirst("kafka.assignment=".count).split(separator: ";") {
                let parts = topic.split(separator: ":")
                let numbers = Set((parts.count > 1 ? parts[1] : "").split(separator: ",").compactMap { Int($0) })
                if assigned { held[String(parts[0]), default: []].formUnion(numbers) } else { held[String(parts[0])]?.subtract(numbers) }
            }
        }
        let total = held.values.map(\.count).reduce(0, +)
        return "\(total) partitions (" + held.keys.sorted().map { "\($0) \(held[$0]!.count)" }.joined(separator: ", ") + ")"
    }

    /// Every message stored once: as many events as messages, no Kafka position
    /// twice, and every partition's offsets contiguous from 0 (none skipped).
    private static func exactlyOnce(_ connection: PostgresConnection, messages: Int) throws -> String {
        let row = try connection.query(
            """
            SELECT count(*), count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)),
                   (SELECT count(*) FROM (SELECT 1 FROM events WHERE kafka_topic IS NOT NULL GROUP BY kafka_topic, kafka_partition
                                          HAVING min(kafka_offset) <> 0 OR max(kafka_offset) - min(kafka_offset) + 1 <> count(*)) AS gaps),
                   (SELECT count(*) FROM dead_letters)
            FROM events WHERE kafka_topic IS NOT NULL
            """).rows[0]
        let (stored, distinct, gapped, dead) = (Int(row[0]!)!, Int(row[1]!)!, Int(row[2]!)!, Int(row[3]!)!)
        let verdict = stored == messages && distinct == stored && gapped == 0 && dead == 0 ? "yes" : "NO"
        return "\(verdict): \(stored) events for \(messages) messages, \(distinct) distinct Kafka positions, "
            + "\(gapped) partitions with a gap, \(dead) dead letters"
    }
}
