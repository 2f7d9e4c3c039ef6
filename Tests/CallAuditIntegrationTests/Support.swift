import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Logging
import CallAuditProjections
import Synchronization
import Testing

let environment = ProcessInfo.processInfo.environment
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The `callaudit` executable under test: ops/test names it, else the one built next to the tests.
let callauditBinary = environment["CALLAUDIT_BINARY"]
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("callaudit").path

/// The suite's one KEK: in-process ingest seals with it, and every child
/// `callaudit` gets it as `CALLAUDIT_KEK`, so they all open the same data.
let testKEK = "Y2FsbGF1ZGl0LXRlc3Qta2V5LWVuY3J5cHRpb24ta2U="
let testKeys = try! KeyEncryptionKeys.single(base64: testKEK)

/// The environment child processes run with: the test KEK unless `withKEK` is false.
func childEnvironment(withKEK: Bool = true) -> [String: String] {
    var variables = environment
    variables["CALLAUDIT_KEK"] = withKEK ? testKEK : nil
    return variables
}

/// Runs `callaudit` with `arguments`; its standard output and exit status.
func runCallAudit(_ arguments: [String], withKEK: Bool = true, environment extra: [String: String] = [:]) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: callauditBinary)
    process.arguments = arguments
    process.environment = childEnvironment(withKEK: withKEK).merging(extra) { _, added in added }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// A fresh, migrated database on the dev cluster that ops/test starts.
struct TestDatabase {
    static let adminURL = environment["CALLAUDIT_TEST_ADMIN_URL"] ?? "postgresql://postgres@127.0.0.1:54329/postgres"

    let name: String
    /// Any database's URL on the cluster that holds it, as the superuser: the dev cluster unless a test started its own.
    var serverURL: String = TestDatabase.adminURL

    var ownerURL: String { String(serverURL[...serverURL.lastIndex(of: "/")!]) + name }
    var serviceURL: String { ownerURL.replacingOccurrences(of: "postgres@", with: "callaudit_service@") }

    static func create() throws -> TestDatabase {
        let database = TestDatabase(name: "ca_test_\(UInt32.random(in: 0...UInt32.max))")
        let admin = try PostgresConnection(conninfo: adminURL)
        try admin.execute("CREATE DATABASE \(database.name)")
        let owner = try PostgresConnection(conninfo: database.ownerURL)
        try Migrator(connection: owner, migrations: Migration.bundled()).migrate(logger: quietLogger)
        try admin.execute(
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_service') THEN
                    CREATE ROLE callaudit_service LOGIN IN ROLE callaudit_writer;
                END IF;
            END $$
            """)
        return database
    }

    func owner() throws -> PostgresConnection { try PostgresConnection(conninfo: ownerURL) }

    func count(_ sql: String) throws -> Int { Int(try owner().query(sql).scalar ?? "0") ?? 0 }

    func drop() {
        try? PostgresConnection(conninfo: serverURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// An in-process mock cluster with the four topics.
struct TestKafka {
    let cluster: KafkaMockCluster

    init(partitions: Int32 = 8) throws {
        cluster = try KafkaMockCluster(brokers: 3, logger: quietLogger)
        for topic in Topic.allCases { try cluster.createTopic(topic.rawValue, partitions: partitions) }
    }

    var brokers: String { cluster.bootstrapServers }

    func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: SimulationRunner.producerConfiguration(brokers: brokers), logger: quietLogger)
    }

    /// Sends messages and waits until the broker has every one.
    func produce(_ messages: [SimulatedMessage]) throws {
        let producer = try producer()
        for message in messages {
            try producer.produce(topic: message.topic.rawValue, key: Array(message.key.utf8), value: message.value, headers: message.headers)
        }
        try producer.flush()
        #expect(producer.failed == 0)
    }

    func ingestConfiguration(
        _ database: TestDatabase, group: String = "test-group", maxMessageBytes: Int = DecodingLimits.defaultMaximumBytes
    ) -> IngestConfiguration {
        IngestConfiguration(
            brokers: brokers, groupID: group,
            kafkaProperties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "topic.metadata.refresh.interval.ms": "1000"],
            database: DatabaseConfiguration(url: database.serviceURL), maxBatchSize: 2_000, maxBatchDelay: .milliseconds(20),
            limits: DecodingLimits(maximumBytes: maxMessageBytes), maxRetryDelay: .milliseconds(500), keyEncryption: testKeys)
    }
}

/// Simulated traffic held in memory: the valid events and the malformed messages.
func simulatedMessages(calls: Int, seed: UInt64 = 7, malformedRate: Double = 0, recent: Bool = false) -> [SimulatedMessage] {
    var configuration = SimulationConfiguration()
    if recent {
        // The last half hour, ending ten minutes ago: "today" for the status, and never ahead of the clock.
        configuration.start = Timestamp.now.adding(seconds: -1_800)
        configuration.spanSeconds = 1_200
    }
    configuration.calls = calls
    configuration.seed = seed
    configuration.malformedRate = malformedRate
    var messages: [SimulatedMessage] = []
    TrafficSimulator(configuration: configuration).generate { messages.append($0) }
    return messages
}

/// An ingest loop on its own thread, as the service runs it.
final class RunningIngest: @unchecked Sendable {
    let loop: IngestLoop
    private let finished = DispatchSemaphore(value: 0)
    private let failure = FailureBox()

    /// `expectFailure`: the loop is meant to stop on its own with a failure (`stop()` returns it).
    init(_ configuration: IngestConfiguration, expectFailure: Bool = false, logger: Logger = quietLogger) {
        loop = IngestLoop(configuration: configuration, logger: logger)
        Thread { [loop, finished, failure] in
            do { try loop.run() } catch {
                failure.value.withLock { $0 = error as? IngestFailure }
                if !expectFailure { Issue.record("ingest loop failed: \(error)") }
            }
            finished.signal()
        }.start()
    }

    var statistics: IngestStatistics { loop.statistics }

    /// Whether the loop has ended on its own.
    func ended(within seconds: Double) -> Bool {
        guard finished.wait(timeout: .now() + seconds) == .success else { return false }
        finished.signal()
        return true
    }

    /// Stops the loop; what it failed with, if it did.
    @discardableResult
    func stop() -> IngestFailure? {
        loop.requestStop()
        finished.wait()
        finished.signal()
        return failure.value.withLock { $0 }
    }
}

private final class FailureBox: Sendable {
    let value = Mutex<IngestFailure?>(nil)
}

extension ProjectionRunner {
    /// A runner with the test suite's usual settings.
    convenience init(
        projection: any Projection, databaseURL: String, logger: Logger, batchSize: Int = 5_000, pollInterval: Duration = .seconds(1)
    ) {
        self.init(
            projection: projection,
            configuration: ProjectionConfiguration(
                database: DatabaseConfiguration(url: databaseURL), batchSize: batchSize, pollInterval: pollInterval,
                maxRetryDelay: .milliseconds(500)),
            logger: logger)
    }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}

/// Total messages consumed by a group, as recorded in PostgreSQL.
func consumed(_ database: TestDatabase, group: String = "test-group") throws -> Int {
    try database.count("SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets WHERE consumer_group = '\(group)'")
}

/// Stored rows and positions agree partition by partition: every offset below
/// the stored position is an event or a dead letter, exactly once, and none above it.
func expectOffsetsConsistent(_ database: TestDatabase, group: String = "test-group") throws {
    let rows = try database.owner().query(
        """
        WITH stored AS (
            SELECT kafka_topic AS topic, kafka_partition AS partition, kafka_offset AS off FROM events WHERE kafka_topic IS NOT NULL
            UNION ALL
            SELECT kafka_topic, kafka_partition, kafka_offset FROM dead_letters
        )
        SELECT o.topic, o.partition, o.next_offset, count(s.off), count(DISTINCT s.off), coalesce(max(s.off), -1)
        FROM kafka_offsets o LEFT JOIN stored s ON s.topic = o.topic AND s.partition = o.partition
        WHERE o.consumer_group = $1
        GROUP BY 1, 2, 3
        """, [.text(group)])
    #expect(rows.count > 0)
    for row in rows {
        let next = Int(row[2]!)!
        #expect(Int(row[3]!)! == next, "partition \(row[0]!)[\(row[1]!)]: \(row[3]!) rows stored for position \(next)")
        #expect(Int(row[4]!)! == next)
        #expect(Int(row[5]!)! == next - 1)
    }
}

/// A `callaudit serve` child process, its standard error kept in a file.
final class ServeProcess {
    let process = Process()
    private let errorFile: URL

    /// `withKEK`: give it the suite's KEK as `CALLAUDIT_KEK`; false leaves it to `--kek-file`.
    /// `environment`: variables added to the child's (the suite's KEK and the test's own environment).
    init(_ arguments: [String], withKEK: Bool = true, environment extra: [String: String] = [:]) throws {
        errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: callauditBinary)
        process.arguments = ["serve"] + arguments
        process.environment = childEnvironment(withKEK: withKEK).merging(extra) { _, added in added }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
    }

    /// `serve` against the test database and Kafka, with the suite's usual settings: a key
    /// folder and an HTTP port of its own unless `extra` names them.
    convenience init(
        kafka: TestKafka, database: TestDatabase, extra: [String] = [], withKEK: Bool = true, environment: [String: String] = [:]
    ) throws {
        var own: [String] = []
        if !extra.contains("--key-dir") {
            own += ["--key-dir", FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)").path]
        }
        if !extra.contains("--http-address") { own += ["--http-address", "127.0.0.1:\(freePort())"] }
        try self.init(
            [
                "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
                "--batch-size", "2000", "--batch-delay-ms", "20", "--log-level", "warning",
            ] + own + extra, withKEK: withKEK, environment: environment)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// Waits up to `seconds` for the process to end; whether it did.
    func ended(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !process.isRunning
    }

    /// Sends SIGTERM and returns how long the process took to end (nil if it had not after `seconds`).
    func terminate(within seconds: Double) -> Double? {
        let started = Date()
        process.terminate()
        return ended(within: seconds) ? Date().timeIntervalSince(started) : nil
    }

    var status: Int32 { process.terminationStatus }

    var standardError: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }
}
