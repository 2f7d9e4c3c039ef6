import CallAuditDomain
import CallAuditKafka
import CallAuditOperations
import CallAuditProjections
import CallAuditReports
import CallAuditStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DatabaseTests {
@Suite("Operations surface: status, readiness, metrics, dashboard, restarts")
struct OperationsSurfaceTests {
    /// A service fed by the simulator through Kafka, with an ops token; returns once every message is durable.
    private func fedService(calls: Int = 150, seed: UInt64 = 5) throws -> (api: RunningAPI, sent: Int) {
        let api = try RunningAPI(extra: ["--status-interval-ms", "500"], partitions: 4)
        let messages = simulatedMessages(calls: calls, seed: seed, malformedRate: 0.02, recent: true)
        try api.kafka.produce(messages)
        guard waitUntil(seconds: 60, { (try? consumed(api.database)) == messages.count }) else {
            throw TestFailure("ingest did not take \(messages.count) messages: \(api.serve.standardError)")
        }
        return (api, messages.count)
    }

    /// The status once it shows everything consumed and every projection current.
    private func settledStatus(_ api: RunningAPI, sent: Int) throws -> JSONValue {
        var status: JSONValue?
        let settled = try waitUntil(seconds: 60) {
            status = try api.get("/v1/status", token: api.tokens["ops"]).json
            let projections = status?["projections"]?.arrayValue ?? []
            return status?["ingest"]?["consumed"]?.numberValue == Double(sent) && status?["kafka"]?["total_lag"]?.numberValue == 0
                && !projections.isEmpty && projections.allSatisfy { $0["state"]?.stringValue == "current" }
        }
        guard settled, let status else { throw TestFailure("the status did not settle: \(String(describing: status))") }
        return status
    }

    @Test("the status matches what was ingested: partitions, head, projections, dead letters, open requests, today's findings")
    func statusMatchesIngest() throws {
        let (api, sent) = try fedService()
        let request = try api.request(
            "POST", "/v1/requests", token: api.tokens["dpo"],
            body: Array(#"{"type":"access","regime":"gdpr","subject":{"phone":"+14155550100"},"verified_by":"call-back"}"#.utf8))
        let requestID = try #require(request.json?["request_id"]?.stringValue)
        let status = try settledStatus(api, sent: sent)
        let owner = try api.database.owner()

        #expect(status["ingest"]?["head_position"]?.numberValue == Double(try api.database.count("SELECT max(position) FROM events")))
        let partitions = try #require(status["kafka"]?["partitions"]?.arrayValue)
        #expect(partitions.count == 16, "4 topics × 4 partitions")
        #expect(partitions.reduce(0) { $0 + ($1["high_watermark"]?.numberValue ?? 0) } == Double(sent))
        for row in try owner.query("SELECT topic, partition, next_offset FROM kafka_offsets WHERE consumer_group = 'test-group'") {
            let shown = partitions.first { $0["topic"]?.stringValue == row[0] && $0["partition"]?.numberValue == Double(row[1]!) }
            #expect(shown?["stored_offset"]?.numberValue == Double(row[2]!), "\(row[0]!)[\(row[1]!)]")
            #expect(shown?["lag"]?.numberValue == 0)
        }
        let projections = try #require(status["projections"]?.arrayValue)
        #expect(projections.count == ProjectionCatalog.names.count, "every projection is shown")
        for projection in projections {
            #expect(projection["lag_events"]?.numberValue == 0 && projection["lag_seconds"]?.numberValue == 0)
            #expect(projection["quarantined"]?.arrayValue?.isEmpty == true)
        }
        #expect((status["ingest"]?["rate_per_second"]?.numberValue ?? 0) > 0, "messages arrived within the last minute")

        let deadLetters = try owner.query("SELECT reason, count(*) FROM dead_letters GROUP BY reason")
        #expect(!deadLetters.rows.isEmpty, "the simulator sent malformed messages")
        #expect(status["dead_letters"]?["total"]?.numberValue == Double(try api.database.count("SELECT count(*) FROM dead_letters")))
        for row in deadLetters {
            let shown = status["dead_letters"]?["by_reason"]?.arrayValue?.first { $0["reason"]?.stringValue == row[0] }
            #expect(shown?["count"]?.numberValue == Double(row[1]!), "dead letters \(row[0]!)")
        }

        let open = try #require(status["subject_requests"]?["by_deadline"]?.arrayValue)
        #expect(open.count == 1 && open.first?["id"]?.stringValue == requestID)
        let detail = try api.get("/v1/requests/\(requestID)", token: api.tokens["dpo"]).json
        #expect(open.first?["due_at"] == detail?["deadline"], "the deadline the DPO sees")

        let day = try #require(status["findings_today"]?["day"]?.stringValue)
        let findings = try owner.query(
            """
            SELECT rule, count(*) FROM findings
            WHERE status = 'open' AND occurred_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
              AND occurred_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
            GROUP BY rule ORDER BY rule
            """, [.text(day)])
        #expect(status["findings_today"]?["by_rule"]?.arrayValue?.map { "\($0["rule"]!.stringValue!)=\(Int($0["count"]!.numberValue!))" }
                == findings.rows.map { "\($0[0]!)=\($0[1]!)" })
        #expect(status["fresh"]?.boolValue == true)
        #expect(try api.get("/v1/status", token: api.tokens["auditor"]).status == 403)
    }

    @Test("lag rises while no consumer runs and falls to zero when the service resumes")
    func lagRisesAndFalls() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 2)
        let watermarks = try KafkaWatermarks(configuration: KafkaConfiguration(["bootstrap.servers": kafka.brokers]), logger: quietLogger)
        let sampler = StatusSampler(
            settings: .init(
                consumerGroup: "test-group", topics: Topic.allCases.map(\.rawValue), projections: [], reports: ReportSchedule(),
                policy: .default),
            watermarks: watermarks)
        let connection = try database.owner()
        #expect(try sampler.sample(on: connection).kafka.totalLag == 0)

        let first = simulatedMessages(calls: 40, seed: 11)
        try kafka.produce(first)
        let stopped = try sampler.sample(on: connection)
        #expect(stopped.kafka.reachable)
        #expect(stopped.kafka.totalLag == Int64(first.count), "nothing consumed yet: every message is lag")

        let serve = try ServeProcess(kafka: kafka, database: database)
        #expect(try waitUntil(seconds: 30) { try sampler.sample(on: connection).kafka.totalLag == 0 }, "lag falls once serve runs")
        #expect(serve.terminate(within: 10) != nil)

        let second = simulatedMessages(calls: 30, seed: 12)
        try kafka.produce(second)
        let again = try sampler.sample(on: connection)
        #expect(again.kafka.totalLag == Int64(second.count), "rises again while the service is down")
        #expect(again.kafka.partitions.allSatisfy { ($0.lag ?? -1) == ($0.highWatermark ?? 0) - $0.storedOffset })
    }

    @Test("/readyz fails while PostgreSQL refuses the service, and recovers; only an ops token is told it is the database")
    func readinessFollowsTheDatabase() throws {
        let api = try RunningAPI(extra: ["--status-interval-ms", "500"])
        let ops = api.tokens["ops"]!
        #expect(try waitUntil(seconds: 20) { try api.get("/readyz").status == 200 })
        let ready = try api.get("/readyz", token: ops).json
        #expect(ready?["checks"]?["database"]?.stringValue == "ok" && ready?["checks"]?["kafka"]?.stringValue == "ok")

        let admin = try PostgresConnection(conninfo: TestDatabase.adminURL)
        try admin.execute("ALTER DATABASE \(api.database.name) ALLOW_CONNECTIONS false")
        defer { try? admin.execute("ALTER DATABASE \(api.database.name) ALLOW_CONNECTIONS true") }
        try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [.text(api.database.name)])
        var down: RunningAPI.Reply?
        #expect(try waitUntil(seconds: 20) {
            down = try api.get("/readyz")
            return down?.status == 503
        })
        #expect(down?.headers["content-type"] == "application/problem+json" && Int(down?.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(down?.json?["checks"] == nil && down?.json?["detail"]?.stringValue == "not ready", "anonymous: not ready, and nothing else: \(down?.text ?? "")")
        #expect(down.map { !$0.text.contains("database") && !$0.text.contains("PostgreSQL") } == true)

        // The ops token was valid at its last check; while PostgreSQL cannot be asked it stays valid for a while.
        let detailed = try api.get("/readyz", token: ops)
        #expect(detailed.status == 503)
        #expect(detailed.json?["checks"]?["database"]?.stringValue != "ok", "\(detailed.text)")
        #expect(detailed.json?["checks"]?["kafka"]?.stringValue == "ok")
        #expect(detailed.json?["detail"]?.stringValue?.contains("database") == true)
        let stranger = try api.get("/v1/keys", token: "ca_never-seen")
        #expect(stranger.status == 503 && stranger.headers["retry-after"] != nil, "an unknown token cannot be checked: 503, not 500 and not a guess")
        #expect(try api.get("/healthz").status == 200, "alive all the same")

        try admin.execute("ALTER DATABASE \(api.database.name) ALLOW_CONNECTIONS true")
        #expect(try waitUntil(seconds: 30) { try api.get("/readyz").status == 200 }, "ready again once PostgreSQL is back")
    }

    @Test("/metrics passes promtool check metrics and counts what was ingested; the alert rules pass promtool check and test rules")
    func prometheusChecks() throws {
        let (api, _) = try fedService(calls: 60, seed: 9)
        _ = try settledStatus(api, sent: try consumed(api.database))
        let metrics = try api.get("/metrics", token: api.tokens["ops"])
        #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(metrics.body).write(to: file)
        #expect(shell("promtool check metrics < '\(file.path)'") == 0, "promtool check metrics")

        let samples = metrics.text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        func sum(_ prefix: String) -> Double {
            samples.filter { $0.hasPrefix(prefix) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }
        #expect(sum("callaudit_ingest_events_total{") - sum("callaudit_ingest_events_total{topic=\"calls\",result=\"dead_lettered\"}")
                - sum("callaudit_ingest_events_total{topic=\"consents\",result=\"dead_lettered\"}")
                - sum("callaudit_ingest_events_total{topic=\"access\",result=\"dead_lettered\"}")
                - sum("callaudit_ingest_events_total{topic=\"deletions\",result=\"dead_lettered\"}")
                == Double(try api.database.count("SELECT count(*) FROM events WHERE kafka_topic IS NOT NULL")))
        #expect(sum("callaudit_dead_letters{") == Double(try api.database.count("SELECT count(*) FROM dead_letters")))
        for family in ["callaudit_ingest_batch_commit_seconds_bucket", "callaudit_kafka_consumer_lag_messages{", "callaudit_projection_lag_events{",
                       "callaudit_http_requests_total{route=\"/v1/status\",method=\"GET\",status=\"200\"}", "callaudit_kafka_up 1"] {
            #expect(samples.contains { $0.hasPrefix(family) }, "\(family) exposed")
        }
        #expect(try api.get("/metrics", token: api.tokens["auditor"]).status == 403)

        let families = metrics.text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) }
        #expect(Set(families).isSubset(of: MetricsCatalog.help.keys), "every exposed family is in the catalog, with its help")

        let rules = repositoryRoot.appendingPathComponent("ops/prometheus")
        #expect(shell("promtool check rules '\(rules.path)/alerts.yml'") == 0, "promtool check rules")
        #expect(shell("cd '\(rules.path)' && promtool test rules alerts.test.yml") == 0, "promtool test rules")
    }

    @Test("the alert rules and the Grafana dashboard query only metrics the service exposes, in PromQL promtool accepts; the scrape config checks")
    func opsKitMatchesTheMetrics() throws {
        let kit = repositoryRoot.appendingPathComponent("ops")
        let alerts = try String(contentsOf: kit.appendingPathComponent("prometheus/alerts.yml"), encoding: .utf8)
        let dashboard = try JSONParser.parse(Array(try Data(contentsOf: kit.appendingPathComponent("grafana/callaudit-dashboard.json"))))
        let queries = (dashboard["panels"]?.arrayValue ?? []).flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue }
        #expect(queries.count >= 10)
        let used = (queries + [alerts]).flatMap { text in
            text.matches(of: /callaudit_[a-z_]+/).map { String($0.output).replacing(/_(bucket|sum|count)$/, with: "") }
        }
        #expect(!used.isEmpty)
        for name in Set(used) { #expect(MetricsCatalog.help[name] != nil, "\(name) is a metric the service exposes") }

        // Each panel's query as a recording rule: promtool parses it as Prometheus would.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ops-kit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let recording = "groups:\n  - name: grafana\n    rules:\n" + queries.enumerated().map { index, query in
            "      - record: grafana:panel_\(index)\n        expr: '\(query.replacingOccurrences(of: "'", with: "''"))'\n"
        }.joined()
        try recording.write(to: folder.appendingPathComponent("grafana.yml"), atomically: true, encoding: .utf8)
        #expect(shell("promtool check rules '\(folder.path)/grafana.yml'") == 0, "the dashboard's queries parse")

        let scrape = try String(contentsOf: kit.appendingPathComponent("prometheus/prometheus.yml"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/prometheus/alerts.yml", with: kit.appendingPathComponent("prometheus/alerts.yml").path)
            .replacingOccurrences(of: "/run/callaudit-tokens/prometheus", with: folder.appendingPathComponent("token").path)
        try "ca_example".write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try scrape.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        #expect(shell("promtool check config '\(folder.path)/prometheus.yml'") == 0, "promtool check config")
        #expect(shell("docker-compose -f '\(repositoryRoot.path)/docker/compose.yaml' config -q") == 0, "docker compose config (no engine needed)")
    }

    @Test("the /ops dashboard, in headless Chromium, shows the numbers /v1/status gives")
    func dashboardInChromium() throws {
        let (api, sent) = try fedService(calls: 120, seed: 21)
        let status = try settledStatus(api, sent: sent)
        let page = URL(string: "\(api.base)/ops#token=\(api.tokens["ops"]!)")!
        let (dom, console) = try headlessChromium(page, budgetMilliseconds: 6_000)
        #expect(!console.contains("Uncaught"), "no script errors: \(console)")
        #expect(dom.contains("<main id=\"board\">"), "the board is shown once the token is accepted")

        func field(_ name: String) -> String? {
            let pattern = "data-field=\"\(name)\">([^<]*)<"
            guard let range = dom.range(of: pattern, options: .regularExpression) else { return nil }
            return String(dom[range]).replacingOccurrences(of: "data-field=\"\(name)\">", with: "").dropLast().description
        }
        func shown(_ value: JSONValue?) -> String {
            guard let number = value?.numberValue else { return "–" }
            return Int(number).formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        }
        #expect(field("ingest.consumed") == shown(status["ingest"]?["consumed"]))
        #expect(field("ingest.head") == shown(status["ingest"]?["head_position"]))
        #expect(field("kafka.total_lag") == shown(status["kafka"]?["total_lag"]))
        #expect(field("dead_letters.total") == shown(status["dead_letters"]?["total"]))
        #expect(field("dead_letters.open") == shown(status["dead_letters"]?["open"]))
        #expect(field("findings.total") == shown(status["findings_today"]?["total"]))
        #expect(field("requests.open") == shown(status["subject_requests"]?["open"]))
        let projections = try #require(status["projections"]?.arrayValue)
        #expect(!projections.isEmpty)
        for projection in projections {
            let name = projection["name"]!.stringValue!
            let row = try #require(tableRow(dom, attribute: "data-projection", value: name))
            #expect(row == [name, projection["state"]!.stringValue!.replacingOccurrences(of: "_", with: " "), shown(projection["position"]),
                            shown(projection["lag_events"]), shown(projection["lag_seconds"]), "none"])
        }
        let partitions = try #require(status["kafka"]?["partitions"]?.arrayValue)
        #expect(!partitions.isEmpty)
        for partition in partitions {
            let key = "\(partition["topic"]!.stringValue!)/\(Int(partition["partition"]!.numberValue!))"
            let row = try #require(tableRow(dom, attribute: "data-partition", value: key))
            #expect(Array(row.dropFirst(2)) == [
                shown(partition["stored_offset"]), shown(partition["low_watermark"]), shown(partition["high_watermark"]), shown(partition["lag"]), "none",
            ])
        }
        let rules = try #require(status["findings_today"]?["by_rule"]?.arrayValue)
        #expect(rules.isEmpty == (status["findings_today"]?["total"]?.numberValue == 0), "a row per rule whenever there are findings")
        for rule in rules {
            #expect(tableRow(dom, attribute: "data-rule", value: rule["rule"]!.stringValue!) == [rule["rule"]!.stringValue!, shown(rule["count"])])
        }
        let letters = try #require(status["dead_letters"]?["by_reason"]?.arrayValue)
        #expect(letters.isEmpty == (status["dead_letters"]?["total"]?.numberValue == 0), "a row per reason whenever there are dead letters")
        for letter in letters {
            let key = "\(letter["reason"]!.stringValue!)/\(letter["status"]!.stringValue!)"
            #expect(tableRow(dom, attribute: "data-reason", value: key)?.last == shown(letter["count"]))
        }

        let refused = try headlessChromium(URL(string: "\(api.base)/ops#token=ca_not-a-token")!, budgetMilliseconds: 3_000)
        #expect(refused.dom.contains("the token is unknown or revoked"), "a refused token shows the form with the reason")
    }

    @Test("restarts resume ingest quickly: within 5 s after SIGTERM, within 10 s after SIGKILL")
    func restartsResumeQuickly() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        var sent = 0
        func produceAndTime(_ seed: UInt64, started: Date) throws -> Double? {
            let messages = simulatedMessages(calls: 10, seed: seed)
            try kafka.produce(messages)
            sent += messages.count
            guard waitUntil(seconds: 60, { (try? consumed(database)) == sent }) else { return nil }
            return Date().timeIntervalSince(started)
        }
        let first = try ServeProcess(kafka: kafka, database: database)
        #expect(try produceAndTime(1, started: Date()) != nil, "the first instance ingests")
        #expect(first.terminate(within: 10) != nil)

        let graceful = Date()
        let second = try ServeProcess(kafka: kafka, database: database)
        let afterTerm = try #require(try produceAndTime(2, started: graceful))
        #expect(afterTerm <= 5, "ingesting again \(afterTerm) s after a restart that followed SIGTERM")

        kill(second.process.processIdentifier, SIGKILL)
        #expect(second.ended(within: 5))
        let crash = Date()
        let third = try ServeProcess(kafka: kafka, database: database)
        let afterKill = try #require(try produceAndTime(3, started: crash))
        #expect(afterKill <= 10, "ingesting again \(afterKill) s after a restart that followed SIGKILL")
        print("restart timings: after SIGTERM \(afterTerm) s, after SIGKILL \(afterKill) s")
        #expect(third.terminate(within: 10) != nil)
        try expectOffsetsConsistent(database)
    }
}
}

extension DatabaseTests.OperationsSurfaceTests {
    @Test("a second instance stands by while the first ingests, and takes over within seconds when the first is killed")
    func standbyTakesOver() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 4)
        let leader = try ServeProcess(kafka: kafka, database: database)
        var sent = 0
        let first = simulatedMessages(calls: 10, seed: 41)
        try kafka.produce(first)
        sent += first.count
        #expect(waitUntil(seconds: 30) { (try? consumed(database)) == sent })
        let standby = try ServeProcess(kafka: kafka, database: database)
        #expect(
            try waitUntil(seconds: 30) {
                try database.count(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-ingest-leader'") == 2
            }, "both instances hold a leadership session: one leads, one polls")

        kill(leader.process.processIdentifier, SIGKILL)
        let killed = Date()
        let second = simulatedMessages(calls: 10, seed: 42)
        try kafka.produce(second)
        sent += second.count
        #expect(waitUntil(seconds: 30) { (try? consumed(database)) == sent })
        let takeover = Date().timeIntervalSince(killed)
        print("standby took over and ingested \(second.count) messages \(takeover) s after the leader was killed")
        #expect(takeover <= 10)
        #expect(try database.count("SELECT count(*) FROM events") + database.count("SELECT count(*) FROM dead_letters") == sent)
        #expect(standby.terminate(within: 10) != nil)
        try expectOffsetsConsistent(database)
    }
}
