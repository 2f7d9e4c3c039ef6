import CallAuditDomain
import CallAuditIngest
import CallAuditKafka
import CallAuditReports
import CallAuditSigning
import CallAuditSimulator
import CallAuditStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

extension DatabaseTests {
/// A stored position outside what a Kafka partition keeps (retention ran out,
/// or the topic was recreated): ingest of that partition stops and says so,
/// the others go on, and only an operator's `ingest accept-gap` resumes it,
/// leaving the gap as an event every report of the time lists.
@Suite("Retention gaps in Kafka")
struct RetentionGapTests {
    private let calls1 = TopicPartition(topic: "calls", partition: 1)

    @Test("a stored position past a partition's end (topic recreated): serve stops that partition alone, /v1/status and /metrics name it with the gap's size, accept-gap resumes it with nothing lost or doubled, and the report lists the gap")
    func positionBeyondHighWatermark() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        let ops = try runCallAudit(["tokens", "create", "--role", "ops", "--name", "ops-1", "--database-url", database.ownerURL])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = simulatedMessages(calls: 120, seed: 31, recent: true)
        // The fault, as measured from outside: the stored position 1,000 past the partition's end.
        let (endBefore, stored) = try ingestThenMovePastEnd(first, by: 1000, kafka: kafka, database: database)
        let second = simulatedMessages(calls: 120, seed: 32, recent: true)
        try kafka.produce(second)
        let ranges = try watermarks(kafka)
        let end = ranges[calls1]!.high
        #expect(end > endBefore, "the second batch reached calls[1] too")

        let port = freePort()
        let serve = try ServeProcess(
            kafka: kafka, database: database, extra: ["--http-address", "127.0.0.1:\(port)", "--status-interval-ms", "500", "--report-interval", "1"])
        defer { _ = serve.terminate(within: 15) }
        let others = ranges.filter { $0.key != calls1 }
        #expect(waitUntil(seconds: 60) { (try? storedPositions(database)).map { positions in others.allSatisfy { (positions[$0.key] ?? 0) == $0.value.high } } ?? false },
                "every other partition ingests the new messages: \(serve.standardError)")
        var gaps: [JSONValue] = []
        #expect(waitUntil(seconds: 20) {
            gaps = (try? httpGet(port: port, "/v1/status", token: ops).json["kafka"]?["gaps"]?.arrayValue) ?? []
            return !gaps.isEmpty
        }, "the status names the gap")
        #expect(gaps.count == 1)
        #expect(gaps.first?["topic"] == "calls" && gaps.first?["partition"]?.numberValue == 1)
        #expect(gaps.first?["kind"] == "beyond_high_watermark")
        #expect(gaps.first?["messages"]?.numberValue == Double(stored - end), "the gap's size: stored position minus the high watermark")
        func stoppedPartitions() throws -> [String] {
            (try httpGet(port: port, "/v1/status", token: ops).json["kafka"]?["partitions"]?.arrayValue ?? [])
                .filter { $0["ingest_stopped"] == .bool(true) }.map { "\($0["topic"]?.stringValue ?? "")[\(Int($0["partition"]?.numberValue ?? -1))]" }
        }
        #expect(waitUntil(seconds: 10) { (try? stoppedPartitions()) == ["calls[1]"] }, "the status says ingest stopped calls[1], and nothing else")
        let metrics = try httpGet(port: port, "/metrics", token: ops).text
        let gapLine = metrics.split(separator: "\n").first { $0.hasPrefix("callaudit_kafka_gap_messages{") && $0.contains("topic=\"calls\"") && $0.contains("partition=\"1\"") }
        #expect(gapLine.flatMap { Double($0.split(separator: " ").last!) } == Double(stored - end), "/metrics: \(gapLine ?? "no series")")
        // The dashboard, as a browser draws it: a red banner naming the partition and its size, and the partition's row.
        let (dom, console) = try headlessChromium(URL(string: "http://127.0.0.1:\(port)/ops#token=\(ops)")!, budgetMilliseconds: 6_000)
        #expect(!console.contains("Uncaught"), "no script errors: \(console)")
        let size = Int(stored - end).formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        #expect(dom.contains("GAP: calls[1] lost \(size) message(s)"), "the banner names the partition and the gap's size")
        #expect(tableRow(dom, attribute: "data-partition", value: "calls/1")?.last == size, "the partition's row shows the gap")
        #expect(try holdsThroughout(seconds: 1) { try storedPositions(database)[calls1] == stored }, "nothing ingested past the gap")
        #expect(try database.count("SELECT count(*) FROM events WHERE kafka_topic = 'calls' AND kafka_partition = 1 AND kafka_offset >= \(endBefore)") == 0)

        // A final report of today, issued before anyone knew of the gap, once the projections have applied everything.
        #expect(waitUntil(seconds: 60) {
            let projections = (try? httpGet(port: port, "/v1/status", token: ops).json["projections"]?.arrayValue) ?? []
            return !projections.isEmpty && projections.allSatisfy { $0["state"]?.stringValue == "current" }
        })
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let today = ReportPeriod.containing(.now, kind: .day, zone: TimeZone(identifier: "UTC")!)
        let issued = try ReportGenerator(connection: database.owner(), policy: .default, signingKey: KeyRing.open(keys).current).generate(today, status: .final)
        #expect(!waitUntil(seconds: 3) { (try? ReportStore(connection: database.owner()).latestVersion(issued.reportID)) != issued.version },
                "nothing else makes the scheduler issue a new version")

        let accepted = Date()
        let answer = try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "1", "--reason", "calls topic recreated by the platform team", "--by", "olga", "--role", "ops",
        ])
        #expect(answer.status == 0, "accept-gap: \(answer.output)")
        #expect(waitUntil(seconds: 30) { (try? storedPositions(database)[calls1]) == end }, "ingest of calls[1] resumes: \(serve.standardError)")
        let recovery = Date().timeIntervalSince(accepted)
        print("retention gap (beyond high watermark): calls[1] ingesting again \(String(format: "%.1f", recovery)) s after accept-gap")
        #expect(waitUntil(seconds: 10) { (try? httpGet(port: port, "/v1/status", token: ops).json["kafka"]?["gaps"]?.arrayValue?.isEmpty) == true },
                "the status no longer shows a gap")
        #expect(try stoppedPartitions().isEmpty, "nor a stopped partition")

        // 0 lost, 0 doubled: every message of both batches is one event; every offset one row.
        #expect(try database.count("SELECT count(*) FROM events WHERE source <> 'urn:callaudit'") == first.count + second.count)
        try expectOffsetsConsistent(database)
        let event = try database.owner().query("SELECT event->'data' FROM events WHERE type = 'ingest.gap_accepted'").rows
        #expect(event.count == 1, "the decision is an event in the log")
        let data = try JSONParser.parse(Array(event[0][0]!.utf8))
        #expect(data["lost"]?["from_offset"]?.numberValue == Double(end) && data["lost"]?["to_offset"]?.numberValue == Double(stored))
        #expect(data["by"]?["name"] == "olga" && data["by"]?["role"] == "ops" && data["resume_offset"]?.numberValue == 0)

        try expectReportListsGap(database, messages: stored - end, kind: "beyond_high_watermark")
        var reissued: StoredReport?
        #expect(waitUntil(seconds: 30) {
            reissued = try? ReportStore(connection: database.owner()).report(issued.reportID)
            return (reissued?.version ?? 0) > issued.version
        }, "the scheduler issues a new version of the closed report the gap touches")
        let listed = try reissued.map { try JSONParser.parse($0.body)["gaps_in_evidence"]?.arrayValue ?? [] } ?? []
        #expect(listed.count == 1 && listed.first?["lost_messages"]?.numberValue == Double(stored - end) && reissued?.status == "final")
        #expect(try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "1", "--reason", "again",
        ]).status != 0, "a partition without a gap has nothing to accept")
    }

    @Test("a partition held at a recreated topic stays held, in the database, after the new topic grows past the old position and serve restarts; /v1/status names it; accept-gap then resumes it at the new topic's beginning with no message of the new topic skipped or doubled; accept-gap where there is neither hold nor gap is refused")
    func holdSurvivesRestartAfterTopicGrowsPast() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        let ops = try runCallAudit(["tokens", "create", "--role", "ops", "--name", "ops-1", "--database-url", database.ownerURL])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = simulatedMessages(calls: 60, seed: 51, recent: true)
        var produced = first.count
        // The topic "recreated": the stored position 30 past the partition's end.
        let (endBefore, stored) = try ingestThenMovePastEnd(first, by: 30, kafka: kafka, database: database)
        let holds = "SELECT count(*) FROM kafka_partition_holds WHERE consumer_group = 'test-group' AND topic = 'calls' AND partition = 1"
        func status(_ port: Int) throws -> (stopped: [String], gaps: [JSONValue]) {
            let kafkaStatus = try httpGet(port: port, "/v1/status", token: ops).json["kafka"]
            let stopped = (kafkaStatus?["partitions"]?.arrayValue ?? [])
                .filter { $0["ingest_stopped"] == .bool(true) }.map { "\($0["topic"]?.stringValue ?? "")[\(Int($0["partition"]?.numberValue ?? -1))]" }
            return (stopped, kafkaStatus?["gaps"]?.arrayValue ?? [])
        }

        let statusArguments = ["--status-interval-ms", "500", "--report-interval", "1"]
        do {
            let port = freePort()
            let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--http-address", "127.0.0.1:\(port)"] + statusArguments)
            #expect(waitUntil(seconds: 60) { (try? database.count(holds)) == 1 }, "ingest stores its hold: \(serve.standardError)")
            // The new topic grows past the old stored position while the partition is held.
            var seed: UInt64 = 52
            while try watermarks(kafka)[calls1]!.high <= stored + 5 {
                let more = simulatedMessages(calls: 40, seed: seed, recent: true)
                try kafka.produce(more)
                produced += more.count
                seed += 1
            }
            #expect(waitUntil(seconds: 20) { (try? status(port).stopped) == ["calls[1]"] }, "still stopped once the watermarks hide the gap")
            #expect(serve.terminate(within: 15) != nil)
        }
        let ranges = try watermarks(kafka)
        try #require(ranges[calls1]!.contains(stored), "the new topic has grown past the old position: a fetch there would succeed")

        // The fault: a restart. Held only in memory, the partition was read from `stored` on, skipping [0, stored).
        let port = freePort()
        let serve = try ServeProcess(kafka: kafka, database: database, extra: ["--http-address", "127.0.0.1:\(port)"] + statusArguments)
        defer { _ = serve.terminate(within: 15) }
        let others = ranges.filter { $0.key != calls1 }
        #expect(waitUntil(seconds: 60) { (try? storedPositions(database)).map { positions in others.allSatisfy { (positions[$0.key] ?? 0) == $0.value.high } } ?? false },
                "every other partition ingests: \(serve.standardError)")
        #expect(!waitUntil(seconds: 8) { (try? storedPositions(database)[calls1]) != stored }, "calls[1] stays held across the restart")
        #expect(try database.count("SELECT count(*) FROM events WHERE kafka_topic = 'calls' AND kafka_partition = 1 AND kafka_offset >= \(endBefore)") == 0)
        var seen: (stopped: [String], gaps: [JSONValue]) = ([], [])
        #expect(waitUntil(seconds: 20) {
            seen = (try? status(port)) ?? ([], [])
            return seen.stopped == ["calls[1]"] && seen.gaps.count == 1
        }, "the restarted serve's status names the held partition and its gap as recorded: \(seen)")
        #expect(seen.gaps.first?["kind"] == "beyond_high_watermark" && seen.gaps.first?["messages"]?.numberValue == 30)

        let accepted = Date()
        let answer = try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "1", "--reason", "calls topic recreated", "--by", "olga",
        ])
        #expect(answer.status == 0, "a stored hold is accepted though the watermarks no longer show the gap: \(answer.output)")
        #expect(waitUntil(seconds: 60) { (try? storedPositions(database)[calls1]) == ranges[calls1]!.high }, "calls[1] resumes and catches up: \(serve.standardError)")
        print("held partition after restart: calls[1] caught up \(String(format: "%.1f", Date().timeIntervalSince(accepted))) s after accept-gap")
        #expect(try database.count(holds) == 0, "the hold is released with the gap event")
        #expect(waitUntil(seconds: 10) { (try? status(port).stopped.isEmpty) == true }, "the status no longer says stopped")

        // Nothing of the new topic skipped: every offset of calls[1] up to its end is stored, once; every message once.
        let offsets = try database.owner().query(
            """
            SELECT count(*), count(DISTINCT off) FROM (
                SELECT kafka_offset AS off FROM events WHERE kafka_topic = 'calls' AND kafka_partition = 1
                UNION ALL SELECT kafka_offset FROM dead_letters WHERE kafka_topic = 'calls' AND kafka_partition = 1) s
            """).rows[0]
        #expect(Int64(offsets[0]!) == ranges[calls1]!.high && offsets[1] == offsets[0], "offsets 0 to the end of calls[1], each once")
        #expect(try database.count("SELECT count(*) FROM events WHERE source <> 'urn:callaudit'") == produced)
        try expectOffsetsConsistent(database)
        let event = try database.owner().query("SELECT event->'data' FROM events WHERE type = 'ingest.gap_accepted'").rows
        #expect(event.count == 1)
        let data = try JSONParser.parse(Array(event[0][0]!.utf8))
        #expect(data["stored_offset"]?.numberValue == Double(stored) && data["high_watermark"]?.numberValue == Double(endBefore), "the gap as seen when held")
        #expect(data["resume_offset"]?.numberValue == 0 && data["held_since"]?.stringValue != nil
                && data["watermarks_at_acceptance"]?["high"]?.numberValue == Double(ranges[calls1]!.high), "\(data)")

        // Neither hold nor gap: nothing to accept, and nothing recorded.
        let refused = try runCallAuditCapturingErrors([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "2", "--reason", "mistake",
        ])
        #expect(refused.status != 0 && refused.error.contains("has no gap: ingest does not hold it"), "accept-gap refuses: \(refused.error)")
        #expect(try database.count("SELECT count(*) FROM events WHERE type = 'ingest.gap_accepted'") == 1)
    }

    @Test("under an eager group protocol, accepting one partition's gap restarts the whole assignment: another held partition, whose recreated topic has grown past its old position, stays paused and loses nothing until its own gap is accepted")
    func acceptingOneGapKeepsAnotherHeld() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        let calls2 = TopicPartition(topic: "calls", partition: 2)
        let first = simulatedMessages(calls: 60, seed: 61, recent: true)
        try kafka.produce(first)
        var configuration = kafka.ingestConfiguration(database)
        configuration.membership = .group
        do {
            let ingest = RunningIngest(configuration)
            #expect(waitUntil(seconds: 60) { (try? consumed(database)) == first.count })
            ingest.stop()
        }
        let before = try watermarks(kafka)
        try database.owner().execute(
            "UPDATE kafka_offsets SET next_offset = next_offset + 20 WHERE consumer_group = 'test-group' AND topic = 'calls' AND partition IN (1, 2)")
        let stored2 = before[calls2]!.high + 20
        let ingest = RunningIngest(configuration)
        defer { ingest.stop() }
        #expect(waitUntil(seconds: 60) {
            (try? database.count("SELECT count(*) FROM kafka_partition_holds WHERE topic = 'calls' AND partition IN (1, 2)")) == 2
        }, "both partitions held")
        // calls[2]'s recreated topic grows past its old position (messages that are not events: dead letters, still evidence).
        let producer = try kafka.producer()
        for index in 0..<30 { try producer.produce(topic: "calls", partition: 2, value: Array("not an event \(index)".utf8)) }
        try producer.flush()
        let grown = try watermarks(kafka)[calls2]!.high
        try #require(grown > stored2)

        let one = try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "1", "--reason", "calls[1] recreated",
        ])
        #expect(one.status == 0, "\(one.output)")
        #expect(waitUntil(seconds: 30) { (try? storedPositions(database)[calls1]) == before[calls1]!.high }, "calls[1] resumes")
        #expect(!waitUntil(seconds: 6) { (try? storedPositions(database)[calls2]) != stored2 }, "calls[2] stays held through the restarted assignment")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE kafka_topic = 'calls' AND kafka_partition = 2") == 0)

        let two = try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "2", "--reason", "calls[2] recreated",
        ])
        #expect(two.status == 0, "a held partition is accepted though its watermarks show no gap: \(two.output)")
        #expect(waitUntil(seconds: 30) { (try? storedPositions(database)[calls2]) == grown }, "calls[2] resumes from its beginning")
        #expect(try database.count("SELECT count(*) FROM dead_letters WHERE kafka_topic = 'calls' AND kafka_partition = 2") == 30,
                "nothing of calls[2]'s new messages skipped")
        try expectOffsetsConsistent(database)
    }

    @Test(
        "a stored position below a partition's low watermark (retention removed what was not read): the ingest loop stops that partition alone; accept-gap resumes it at the oldest kept message, losing only the trimmed offsets; the report lists the gap",
        arguments: [IngestMembership.exclusive, .group])
    func positionBelowLowWatermark(membership: IngestMembership) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let first = simulatedMessages(calls: 80, seed: 41, recent: true)
        try kafka.produce(first)
        do {
            let ingest = RunningIngest(kafka.ingestConfiguration(database))
            #expect(waitUntil(seconds: 60) { (try? consumed(database)) == first.count })
            ingest.stop()
        }
        let stored = try #require(try storedPositions(database)[calls1])

        // An outage longer than retention: the mock cluster keeps about 5 MB per partition and trims
        // older segments, so 8 MB more into calls[1] raises its low watermark past the stored position.
        let producer = try kafka.producer()
        // Random bytes: the producer compresses, and a repeated byte would shrink to nothing.
        var generator = SeededRandom(seed: 43)
        for _ in 0..<80 {
            try producer.produce(topic: "calls", partition: 1, value: (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        try producer.flush()
        let second = simulatedMessages(calls: 80, seed: 42, recent: true)
        try kafka.produce(second)
        let ranges = try watermarks(kafka)
        let low = ranges[calls1]!.low
        try #require(low > stored, "the mock cluster trimmed calls[1] past the stored position (low \(low), stored \(stored))")

        var configuration = kafka.ingestConfiguration(database)
        configuration.membership = membership
        let ingest = RunningIngest(configuration)
        defer { ingest.stop() }
        let others = ranges.filter { $0.key != calls1 }
        #expect(waitUntil(seconds: 60) { (try? storedPositions(database)).map { positions in others.allSatisfy { (positions[$0.key] ?? 0) == $0.value.high } } ?? false },
                "every other partition ingests")
        // Long enough for librdkafka to have reset and ingest to have stored what follows, had it skipped.
        #expect(!waitUntil(seconds: 10) { (try? storedPositions(database)[calls1]) != stored },
                "calls[1] stopped at its gap instead of jumping to the low watermark")
        let gap = try #require(RetentionGap(partition: calls1, storedOffset: stored, watermarks: ranges[calls1]!))
        #expect(gap.kind == .belowLowWatermark && gap.messages == low - stored)

        let accepted = Date()
        let answer = try runCallAudit([
            "ingest", "accept-gap", "--database-url", database.serviceURL, "--brokers", kafka.brokers, "--group", "test-group",
            "--topic", "calls", "--partition", "1", "--reason", "outage longer than retention", "--by", "ivan", "--role", "admin",
        ])
        #expect(answer.status == 0)
        #expect(answer.output.contains("\(low - stored) offsets lost"), "accept-gap says the gap's size: \(answer.output)")
        #expect(waitUntil(seconds: 60) { (try? storedPositions(database)[calls1]) == ranges[calls1]!.high }, "calls[1] resumes and catches up")
        print("retention gap (below low watermark): calls[1] caught up \(String(format: "%.1f", Date().timeIntervalSince(accepted))) s after accept-gap")

        // Lost: exactly the trimmed offsets. Everything after them, and before, is stored once.
        let rows = try database.owner().query(
            """
            SELECT count(*), count(DISTINCT off), count(*) FILTER (WHERE off >= $1 AND off < $2) FROM (
                SELECT kafka_offset AS off FROM events WHERE kafka_topic = 'calls' AND kafka_partition = 1
                UNION ALL SELECT kafka_offset FROM dead_letters WHERE kafka_topic = 'calls' AND kafka_partition = 1) s
            """, [.int(stored), .int(low)]).rows[0]
        let high = ranges[calls1]!.high
        #expect(Int64(rows[0]!) == stored + (high - low), "every offset outside the gap, once")
        #expect(Int64(rows[1]!) == Int64(rows[0]!), "none doubled")
        #expect(rows[2] == "0", "none inside the gap")
        #expect(try database.count("SELECT count(*) FROM events WHERE source <> 'urn:callaudit'") == first.count + second.count,
                "every valid event of both batches (the trimmed messages were filler)")
        try expectReportListsGap(database, messages: low - stored, kind: "below_low_watermark")
    }

    // MARK: Helpers

    /// `serve` ingests `messages` and stops; then calls[1]'s stored position is moved `offsets` past
    /// the partition's end, as a recreated topic leaves it. Returns that end and the position stored.
    private func ingestThenMovePastEnd(
        _ messages: [SimulatedMessage], by offsets: Int64, kafka: TestKafka, database: TestDatabase
    ) throws -> (end: Int64, stored: Int64) {
        try kafka.produce(messages)
        do {
            let serve = try ServeProcess(kafka: kafka, database: database)
            guard waitUntil(seconds: 60, { (try? consumed(database)) == messages.count }) else {
                throw TestFailure("ingest did not take the first messages: \(serve.standardError)")
            }
            #expect(serve.terminate(within: 15) != nil)
        }
        let end = try watermarks(kafka)[calls1]!.high
        try database.owner().execute(
            "UPDATE kafka_offsets SET next_offset = next_offset + \(offsets) WHERE consumer_group = 'test-group' AND topic = 'calls' AND partition = 1")
        return (end, end + offsets)
    }

    private func watermarks(_ kafka: TestKafka) throws -> [TopicPartition: Watermarks] {
        try KafkaWatermarks(configuration: KafkaConfiguration(["bootstrap.servers": kafka.brokers]), logger: quietLogger)
            .watermarks(topics: Topic.allCases.map(\.rawValue), timeout: .seconds(5))
    }

    private func storedPositions(_ database: TestDatabase) throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for row in try database.owner().query("SELECT topic, partition, next_offset FROM kafka_offsets WHERE consumer_group = 'test-group'").rows {
            result[TopicPartition(topic: row[0]!, partition: Int32(row[1]!)!)] = Int64(row[2]!)!
        }
        return result
    }

    /// A report of today lists the gap in its signed JSON, its HTML page and its CSV.
    private func expectReportListsGap(_ database: TestDatabase, messages: Int64, kind: String) throws {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: keys) }
        let today = Timestamp(microseconds: Timestamp.now.microseconds / 86_400_000_000 * 86_400_000_000)
        let report = try ReportGenerator(connection: database.owner(), policy: .default, signingKey: KeyRing.open(keys).current)
            .generate(.custom(from: today, to: today.adding(seconds: 86_400), timeZone: "UTC"), status: .provisional)
        let gaps = try JSONParser.parse(report.body)["gaps_in_evidence"]?.arrayValue ?? []
        #expect(gaps.count == 1, "the report lists the gap")
        #expect(gaps.first?["topic"] == "calls" && gaps.first?["partition"]?.numberValue == 1 && gaps.first?["kind"]?.stringValue == kind)
        #expect(gaps.first?["lost_messages"]?.numberValue == Double(messages))
        let html = try ReportRenderer.html(report.body, signature: report.signature, sha256: report.bodySHA256)
        #expect(html.contains("Gaps in the evidence") && html.contains("calls[1]") && html.contains("id=\"gaps-banner\""))
        let csv = String(decoding: try ReportRenderer.csv(report.body), as: UTF8.self)
        #expect(csv.contains("EVIDENCE_GAP") && csv.contains("\(messages) message(s) never ingested"))
        // A report of a day before the gap does not list it.
        let before = try ReportGenerator(connection: database.owner(), policy: .default, signingKey: KeyRing.open(keys).current)
            .generate(.custom(from: today.adding(seconds: -2 * 86_400), to: today.adding(seconds: -86_400), timeZone: "UTC"), status: .provisional)
        #expect(try JSONParser.parse(before.body)["gaps_in_evidence"]?.arrayValue?.isEmpty == true)
    }
}
}

/// A GET against a serve on 127.0.0.1:`port`, with a bearer token.
private func httpGet(port: Int, _ path: String, token: String) throws -> (status: Int, text: String, json: JSONValue) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
    let box = ResponseBox()
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, _ in
        box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
        box.data = data ?? Data()
        done.signal()
    }.resume()
    guard done.wait(timeout: .now() + 10) == .success else { throw TestFailure("no answer from \(path)") }
    let text = String(decoding: box.data, as: UTF8.self)
    return (box.status, text, (try? JSONParser.parse(Array(box.data))) ?? .null)
}

private final class ResponseBox: @unchecked Sendable {
    var status = 0
    var data = Data()
}
