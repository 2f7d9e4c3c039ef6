import ArgumentParser
import CallAuditDomain
import CallAuditIngest
import CallAuditIntegrity
import CallAuditSigning
import CallAuditProjections
import CallAuditSimulator
import CallAuditStore
import CallAuditVault
import Foundation
import Logging
import Synchronization

/// Durable end-to-end ingest, personal data sealed as `serve` seals it,
/// against the same ingest with encryption off and the raw COPY rate, in one run.
///
/// Kafka (the mock cluster) and the backlog loader run as child processes, so
/// the peak RSS reported is the ingest's own.
extension IngestDecoding: ExpressibleByArgument {}

struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load a simulated backlog into the dev Kafka, ingest it durably, and compare with psql \\copy of the same rows.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.2 events each).")
    var calls = 50_000

    @Option(help: "Partitions per topic in the benchmark's own mock cluster (the mock keeps about 5 MB each: both passes read the same backlog).")
    var partitions: Int32 = 64

    @Option(help: "A second empty, migrated database: the same backlog is ingested into it with encryption off, for comparison.")
    var plainDatabaseURL: String?

    @Option(help: "A third empty, migrated database: the same backlog ingested sealed but with no seal chain being built, to measure what the sealer costs.")
    var noChainDatabaseURL: String?

    @Option(help: "A fourth empty, migrated database: filled with --preload events first, then given the same backlog sealed without the chain, to compare with the empty store.")
    var preloadedDatabaseURL: String?

    @Option(help: "Events to fill the fourth database with before ingesting into it (0: skip that pass).")
    var preload = 0

    @Option(help: "Messages per transaction.")
    var batchSize = 5_000

    @Option(help: "The decoder ingest runs: one-pass (as `serve`) or tree (the reference, to compare in the same conditions).")
    var decoder: IngestDecoding = .onePass

    @Flag(inversion: .prefixedEnableDisable, help: "Seal personal data in the main pass (--disable-encryption: the main pass stores it plain; for profiling one kind of pass alone).")
    var encryption = true

    @Flag(inversion: .prefixedEnableDisable, help: "Build the seal chain beside the main pass (--disable-chain: ingest alone, for profiling it).")
    var chain = true

    @Option(help: "Ingest from this cluster, already holding the backlog (see --messages), instead of starting one and loading it: no child process is started, so the pass can run under valgrind.")
    var brokers: String?

    @Option(help: "With --brokers: the messages the cluster's topics hold.")
    var messages: Int?

    @Flag(help: "Run only the ingest passes: no raw COPY or peer INSERT baseline (they run psql as a child process).")
    var ingestOnly = false

    func run() throws {
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let url = database.resolved
        try requireEmptyStore(url)
        let cluster = try brokers == nil ? BenchCluster(partitions: partitions) : nil
        defer { cluster?.stop() }
        let scratch = try cluster?.scratch ?? Self.scratchDirectory()
        defer { if cluster == nil { try? FileManager.default.removeItem(at: scratch) } }
        let brokers = brokers ?? cluster!.brokers

        if let fullURL = preloadedDatabaseURL, preload > 0 {
            try requireEmptyStore(fullURL)
            try preloadStore(url: fullURL, count: preload)
        }
        let messages = try cluster == nil ? Self.given(messages) : loadBacklog(brokers: brokers, calls: calls)

        let keys = try KeyEncryptionKeys.single(base64: Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        let chainKeys = try KeyRing.open(scratch.appendingPathComponent("keys"))
        // Without the chain first: a first pass pays for cold caches, which would be charged to the sealer otherwise.
        let noChain = try noChainDatabaseURL.map { otherURL in
            try requireEmptyStore(otherURL)
            note("ingesting \(messages) events, personal data sealed, without the seal chain")
            return try ingest(brokers: brokers, url: otherURL, group: "bench-nochain", keys: keys, messages: messages, logger: logger)
        }
        let preloaded = try preloadedDatabaseURL.flatMap { fullURL -> IngestResult? in
            guard preload > 0 else { return nil }
            note("ingesting the same \(messages) events, sealed, without the chain, into a store already holding \(preload) events")
            return try ingest(brokers: brokers, url: fullURL, group: "bench-preloaded", keys: keys, messages: messages, logger: logger)
        }
        note("ingesting \(messages) events, personal data sealed, building the seal chain")
        let result = try ingest(
            brokers: brokers, url: url, group: "bench-sealed", keys: encryption ? keys : nil, messages: messages, logger: logger,
            chain: chain ? chainKeys.directory : nil)
        let peakRSS = peakResidentMegabytes()
        let plain = try plainDatabaseURL.map { plainURL in
            try requireEmptyStore(plainURL)
            note("ingesting the same \(messages) events again, encryption off")
            return try ingest(brokers: brokers, url: plainURL, group: "bench-plain", keys: nil, messages: messages, logger: logger)
        }

        if ingestOnly {
            print("events: \(messages); CPU per event (main pass): \(result.perEvent(messages))")
            if let plain { print("CPU per event (off): \(plain.perEvent(messages))") }
            return
        }
        note("raw COPY of the same rows")
        let (copyRate, copyPostgresCPU) = try rawCopy(url: url, scratch: scratch)
        note("the same rows through INSERT … ON CONFLICT DO NOTHING, \(PeerInsert.rowsPerTransaction) a transaction, as a hand-written consumer would")
        let peerRate = try PeerInsert.rate(url: url)

        let latencies = result.latencies.sorted()
        print("""
            machine:                 \(machineDescription())
            events:                  \(messages)
            decoder:                 \(decoder.rawValue)
            end-to-end ingest:       \(Int(result.steadyRate)) events/s (first poll to last commit; \(Int(result.totalRate)) events/s including the consumer group join)
            raw psql \\copy:          \(Int(copyRate)) events/s (same rows, identically indexed table, one transaction); PostgreSQL \(String(format: "%.1f µs", copyPostgresCPU * 1e6)) per row
            ingest / raw COPY:       \(String(format: "%.0f", result.steadyRate / copyRate * 100)) %
            peer INSERT … ON CONFLICT: \(Int(peerRate)) events/s (same rows, identically indexed table, \(PeerInsert.rowsPerTransaction) per transaction, from Swift)
            ingest / peer INSERT:    \(String(format: "%.0f", result.steadyRate / peerRate * 100)) %
            batch commit latency:    p50 \(millis(latencies[latencies.count / 2])) ms, p99 \(millis(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) ms over \(latencies.count) batches
            peak RSS (ingest):       \(peakRSS) MB (sealed pass)
            stages busy (sealed):    \(result.busy)
            CPU per event (sealed):  \(result.perEvent(messages))
            """)
        if let chain = result.chain {
            print("""
                seal chain:              \(chain.seals) seals; during ingest at most \(chain.maxUnsealed) events waited for one (oldest \(String(format: "%.1f", chain.maxLag)) s); all sealed \(String(format: "%.1f", chain.catchUp)) s after the last commit
                """)
        }
        if let noChain {
            print("""
                without the seal chain:  \(Int(noChain.steadyRate)) events/s (same backlog, third database, ingested first); CPU per event: \(noChain.perEvent(messages))
                with / without chain:    \(String(format: "%.1f", result.steadyRate / noChain.steadyRate * 100)) % (the sealer costs \(String(format: "%.1f", (1 - result.steadyRate / noChain.steadyRate) * 100)) %)
                """)
        }
        if let noChain, let preloaded {
            print("""
                into \(preload) events:   \(Int(preloaded.steadyRate)) events/s (sealed, no chain; the store held \(preload) events first)
                full / empty store:      \(String(format: "%.1f", preloaded.steadyRate / noChain.steadyRate * 100)) % (against the pass without the chain into an empty store)
                """)
        }
        if let plain {
            print("""
                encryption off:          \(Int(plain.steadyRate)) events/s (same backlog, second database)
                stages busy (off):       \(plain.busy)
                CPU per event (off):     \(plain.perEvent(messages))
                sealed / off:            \(String(format: "%.1f", result.steadyRate / plain.steadyRate * 100)) % (encryption costs \(String(format: "%.1f", (1 - result.steadyRate / plain.steadyRate) * 100)) %)
                """)
        }
    }

    /// A scratch directory of this run's own, when no cluster of the benchmark's provides one.
    private static func scratchDirectory() throws -> URL {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        return scratch
    }

    private static func given(_ messages: Int?) throws -> Int {
        guard let messages, messages > 0 else { throw ValidationError("--brokers needs --messages: how many the topics hold") }
        return messages
    }

    private struct IngestResult {
        var steadyRate: Double
        var totalRate: Double
        var latencies: [Duration]
        /// Seconds each stage worked (wall, and its thread's CPU): poll and decode, seal, commit.
        var stages: (poll: Double, seal: Double, commit: Double)
        var cpu: (poll: Double, seal: Double, commit: Double)
        /// CPU seconds of the whole process over the pass (every thread: librdkafka's, the seal chain's, the stages').
        var processCPU: Double
        /// CPU seconds of the PostgreSQL cluster over the pass, to its last commit (`clusterCPUSeconds`).
        var postgresCPU: Double
        var elapsed: Double
        /// The seal chain built alongside, when it was.
        var chain: (seals: Int, maxUnsealed: Int, maxLag: Double, catchUp: Double)?

        var busy: String {
            func share(_ wall: Double, _ cpu: Double) -> String {
                String(format: "%.0f %% (CPU %.0f %%)", wall / elapsed * 100, cpu / elapsed * 100)
            }
            return "poll+decode \(share(stages.poll, cpu.poll)), seal \(share(stages.seal, cpu.seal)), commit \(share(stages.commit, cpu.commit))"
        }

        /// The stages' thread CPU and the process's, in µs per event.
        func perEvent(_ events: Int) -> String {
            func micros(_ seconds: Double) -> String { String(format: "%.1f µs", seconds / Double(events) * 1e6) }
            return "poll+decode \(micros(cpu.poll)), seal \(micros(cpu.seal)), commit \(micros(cpu.commit)); whole process \(micros(processCPU)); PostgreSQL \(micros(postgresCPU))"
        }
    }

    private func ingest(
        brokers: String, url: String, group: String, keys: KeyEncryptionKeys?, messages: Int, logger: Logger, chain keyDirectory: URL? = nil
    ) throws -> IngestResult {
        // Each pass starts from a checkpoint: otherwise the checkpoint the pass before it made due
        // (its WAL) lands in this one, and is charged to whatever this pass differs by (the sealer).
        // A role that may not checkpoint runs the passes without.
        try? PostgresConnection(conninfo: url).execute("CHECKPOINT")
        let collected = Mutex<(latencies: [Duration], done: Int, firstStart: ContinuousClock.Instant?)>(([], 0, nil))
        let finished = DispatchSemaphore(value: 0)
        let configuration = IngestConfiguration(
            brokers: brokers, groupID: group, database: DatabaseConfiguration(url: url), maxBatchSize: batchSize,
            maxBatchDelay: .milliseconds(100), keyEncryption: keys)
        let statistics = IngestStatistics()
        let loop = IngestLoop(configuration: configuration, logger: logger, statistics: statistics, decoding: decoder) { outcome, count, latency in
            let done = collected.withLock { state in
                state.latencies.append(latency)
                state.done += count
                if state.firstStart == nil { state.firstStart = ContinuousClock.now - latency }
                return state.done
            }
            if done >= messages { finished.signal() }
        }
        // The seal chain as `serve` builds it, on a thread of its own. How far behind it fell is read
        // from the seals afterwards: sampling it during the pass cost PostgreSQL a count of the
        // unsealed events twice a second, charged to the sealer though `serve` does no such thing.
        let sealer = keyDirectory.map { SealerService(database: DatabaseConfiguration(url: url), schedule: SealSchedule(), keyDirectory: $0, logger: logger) }
        if let sealer { Thread { sealer.run() }.start() }
        let watcher = try PostgresConnection(conninfo: url)
        let (started, startCPU, startPostgres) = (ContinuousClock.now, processCPUSeconds(), try clusterCPUSeconds(watcher))
        let thread = Thread { do { try loop.run() } catch { note("ingest failed: \(error)") } }
        thread.start()
        finished.wait()
        let (ended, endCPU, endPostgres) = (ContinuousClock.now, processCPUSeconds(), try clusterCPUSeconds(watcher))
        loop.requestStop()
        var chain: (seals: Int, maxUnsealed: Int, maxLag: Double, catchUp: Double)?
        if let sealer {
            let connection = try PostgresConnection(conninfo: url)
            while try !Self.allSealed(connection) { Thread.sleep(forTimeInterval: 0.1) }
            let catchUp = ended.duration(to: .now).inSeconds
            sealer.requestStop()
            let seals = Int(try connection.query("SELECT count(*) FROM seals").scalar ?? "0") ?? 0
            let lag = try Self.mostUnsealed(connection)
            chain = (seals, lag.count, lag.age, catchUp)
        }
        func seconds(_ counter: borrowing Atomic<Int>) -> Double { Double(counter.load(ordering: .relaxed)) / 1e9 }
        return collected.withLock { state in
            IngestResult(
                steadyRate: Double(messages) / state.firstStart!.duration(to: ended).inSeconds,
                totalRate: Double(messages) / started.duration(to: ended).inSeconds, latencies: state.latencies,
                stages: (seconds(statistics.pollNanoseconds), seconds(statistics.sealNanoseconds), seconds(statistics.commitNanoseconds)),
                cpu: (seconds(statistics.pollCPUNanoseconds), seconds(statistics.sealCPUNanoseconds), seconds(statistics.commitCPUNanoseconds)),
                processCPU: endCPU - startCPU, postgresCPU: endPostgres - startPostgres, elapsed: started.duration(to: ended).inSeconds,
                chain: chain)
        }
    }

    /// Whether every event lies in a seal: one index probe past the newest seal's end.
    private static func allSealed(_ connection: PostgresConnection) throws -> Bool {
        try connection.query(
            """
            SELECT NOT EXISTS (SELECT FROM events e WHERE (e.transaction_id, e.position) > (
                coalesce((SELECT through_txid FROM seals ORDER BY seal_no DESC LIMIT 1), '0'::xid8),
                coalesce((SELECT through_position FROM seals ORDER BY seal_no DESC LIMIT 1), 0)))
            """
        ).scalar == "t"
    }

    /// The most events that waited for a seal at once, and the longest an event waited, from the chain
    /// once built: both peak just before a seal commits, so each seal's moment is checked (events
    /// after the seal before it that were stored by then). The same figures the pass used to sample.
    private static func mostUnsealed(_ connection: PostgresConnection) throws -> (count: Int, age: Double) {
        let row = try connection.query(
            """
            SELECT coalesce(max(w.waiting), 0), coalesce(max(extract(epoch FROM s.sealed_at - w.oldest)), 0)
            FROM seals s LEFT JOIN seals p ON p.seal_no = s.seal_no - 1
            CROSS JOIN LATERAL (
                SELECT count(*) AS waiting, min(e.ingested_at) AS oldest FROM events e
                WHERE (e.transaction_id, e.position) > (coalesce(p.through_txid, '0'::xid8), coalesce(p.through_position, 0))
                  AND e.ingested_at <= s.sealed_at) w
            """).rows[0]
        return (Int(row[0]!) ?? 0, Double(row[1]!) ?? 0)
    }

    /// psql `\copy` of the ingested rows, exported first, into a table with the same columns, indexes and
    /// constraints: its rate, and the cluster's CPU seconds per row over the copy.
    private func rawCopy(url: String, scratch: URL) throws -> (rate: Double, postgresCPU: Double) {
        let file = scratch.appendingPathComponent("rows.copy").path
        let columns = "stream, type, source, event_id, event_time, event, content_hash, kafka_topic, kafka_partition, kafka_offset"
        try psql(url, "\\copy (SELECT \(columns) FROM events ORDER BY position) TO '\(file)'")
        try psql(url, "DROP TABLE IF EXISTS bench_copy_baseline; CREATE TABLE bench_copy_baseline (LIKE events INCLUDING ALL)")
        defer { try? psql(url, "DROP TABLE IF EXISTS bench_copy_baseline") }
        let watcher = try PostgresConnection(conninfo: url)
        let rows = Double(try watcher.query("SELECT count(*) FROM events").scalar ?? "0") ?? 0
        let (started, startPostgres) = (ContinuousClock.now, try clusterCPUSeconds(watcher))
        try psql(url, "\\copy bench_copy_baseline (\(columns)) FROM '\(file)'")
        let (elapsed, postgres) = (started.duration(to: .now).inSeconds, try clusterCPUSeconds(watcher) - startPostgres)
        return (rows / elapsed, postgres / rows)
    }
}

/// CPU time of this process, every thread, in seconds.
private func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
