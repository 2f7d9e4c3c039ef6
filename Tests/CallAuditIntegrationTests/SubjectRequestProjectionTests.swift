import CallAuditDomain
import CallAuditOperations
import CallAuditProjections
import CallAuditReports
import CallAuditRuntime
import CallAuditRequests
import CallAuditSimulator
import CallAuditStore
import Foundation
import Testing

extension DatabaseTests {
/// The request list and the status's open requests read the `subject_requests`
/// projection: what they show must be what folding each request's stream shows.
@Suite("Subject requests as a projection")
struct SubjectRequestProjectionTests {
    /// Every request as its own stream folds, newest receipt first: what the list must equal.
    static func folded(_ world: DPOWorld) throws -> [SubjectRequestSummary] {
        let ids = try world.connection.query(
            "SELECT DISTINCT substr(stream, length('subject-request-') + 1) FROM events WHERE stream LIKE 'subject-request-%'"
        ).decode(String.self)
        let requests = try ids.compactMap { try world.desk.request($0)?.summary }
        #expect(!requests.isEmpty, "the test opened requests")
        return requests.sorted { ($0.receivedAt, $0.id) > ($1.receivedAt, $1.id) }
    }

    /// Requests opened by the DPO (CLI and API) and by two platforms over Kafka; one extended, one closed.
    static func openRequests(in world: DPOWorld) throws -> (cli: SubjectRequest, api: SubjectRequest) {
        let cli = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo,
            at: world.now)
        let api = try world.desk.open(
            kind: .erasure, regime: "ccpa", identifiers: SubjectIdentifiers(email: "jane@example.com"), verifiedBy: "id card",
            by: RequestActor(name: "dpo-api", role: "dpo", channel: "api"), at: world.now.adding(seconds: 60))
        try world.ingest([
            RequestOwnershipTests.erasureRequested("k-1", request: "plat-1", source: "urn:pbx:a", at: "2026-11-20T10:00:00Z", phone: "+14155550101"),
            RequestOwnershipTests.erasureRequested("k-2", request: "plat-2", source: "urn:pbx:b", at: "2026-11-21T10:00:00Z", phone: "+14155550102"),
        ])
        _ = try world.desk.extend(cli.id, reason: "complex request", by: world.dpo, at: world.now.adding(seconds: 120))
        _ = try world.desk.close("plat-2", outcome: .rejected, by: world.dpo, at: world.now.adding(seconds: 180))
        try world.project()
        return (cli, api)
    }

    static func sampler() -> StatusSampler {
        StatusSampler(
            settings: .init(consumerGroup: "test", topics: [], projections: ProjectionCatalog.names, reports: ReportSchedule(), policy: .default),
            watermarks: nil)
    }

    @Test("the list and the status's open requests match the log, for requests the DPO opened and requests that came over Kafka")
    func listMatchesTheLog() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let (cli, api) = try Self.openRequests(in: world)

        let expected = try Self.folded(world)
        #expect(expected.map(\.id).sorted() == [cli.id, api.id, "plat-1", "plat-2"].sorted())
        #expect(try world.desk.list() == expected)
        #expect(try world.desk.list(status: .open) == expected.filter { $0.status == .open })
        #expect(try world.desk.list(status: .rejected).map(\.id) == ["plat-2"])
        let listed = try #require(try world.desk.list().first { $0.id == cli.id })
        #expect(listed.extended && listed.channel == "cli" && listed.status == .open)
        #expect(try world.desk.list().first { $0.id == api.id }?.channel == "api")
        #expect(try world.desk.list().first { $0.id == "plat-1" }?.channel == "kafka")
        #expect(try world.desk.eventsNotYetListed() == 0)

        let status = try Self.sampler().sample(on: world.connection, now: world.now)
        let open = expected.filter { $0.status == .open }
        #expect(status.openRequests.map(\.id).sorted() == open.map(\.id).sorted())
        for request in status.openRequests {
            let folded = try #require(open.first { $0.id == request.id })
            #expect(request.dueAt == folded.deadline(policy: .default) && request.extended == folded.extended, "\(request.id)")
        }
    }

    @Test("through a running service: requests opened over the API and over Kafka are listed and counted once the projection has read them")
    func listedThroughTheService() throws {
        let api = try RunningAPI(extra: ["--status-interval-ms", "500"])
        let dpo = api.tokens["dpo"]
        let opened = try api.request(
            "POST", "/v1/requests", token: dpo,
            body: Array(#"{"type":"access","regime":"gdpr","subject":{"phone":"+14155550100"},"verified_by":"call-back"}"#.utf8))
        #expect(opened.status == 201, "\(opened.text)")
        let openedID = try #require(opened.json?["request_id"]?.stringValue)
        let time = Timestamp.now
        let platform = RequestOwnershipTests.erasureRequested("k-1", request: "plat-1", source: "urn:pbx:a", at: time.rfc3339, phone: "+14155550101")
        try api.kafka.produce([
            SimulatedMessage(
                topic: .deletions, key: "plat-1", headers: [("content-type", Array("application/cloudevents+json".utf8))],
                value: platform.canonicalBytes, time: time)
        ])

        var listed: [JSONValue] = []
        let both = waitUntil(seconds: 30) {
            listed = (try? api.get("/v1/requests", token: dpo).json?["requests"]?.arrayValue) ?? []
            return listed.count == 2
        }
        #expect(both, "\(listed) \(api.serve.standardError)")
        #expect(Set(listed.compactMap { $0["request_id"]?.stringValue }) == [openedID, "plat-1"])
        #expect(listed.first { $0["request_id"]?.stringValue == "plat-1" }?["channel"] == "kafka")
        // What the list says of each request is what the request's own page, folded from its stream, says.
        for summary in listed {
            let id = try #require(summary["request_id"]?.stringValue)
            let detail = try #require(try api.get("/v1/requests/\(id)", token: dpo).json)
            for key in ["type", "regime", "status", "channel", "received_at", "deadline", "extended", "closed_at", "overdue"] {
                #expect(summary[key] == detail[key], "\(id): \(key)")
            }
        }

        func openInStatus() -> Set<String>? {
            guard let status = try? api.get("/v1/status", token: api.tokens["ops"]).json?["subject_requests"],
                let open = status["by_deadline"]?.arrayValue, status["open"]?.numberValue == Double(open.count)
            else { return nil }
            return Set(open.compactMap { $0["id"]?.stringValue })
        }
        #expect(waitUntil(seconds: 30) { openInStatus() == [openedID, "plat-1"] }, "\(String(describing: openInStatus()))")

        let closed = try api.request("POST", "/v1/requests/\(openedID)/close", token: dpo, body: Array(#"{"outcome":"answered"}"#.utf8))
        #expect(closed.status == 200, "\(closed.text)")
        #expect(waitUntil(seconds: 30) {
            let answered = (try? api.get("/v1/requests?status=answered", token: dpo).json?["requests"]?.arrayValue) ?? []
            return answered.compactMap { $0["request_id"]?.stringValue } == [openedID]
        })
        #expect(waitUntil(seconds: 30) { openInStatus() == ["plat-1"] }, "\(String(describing: openInStatus()))")
    }

    @Test("the tests' catch-up waits out a transaction open in another database, which holds back the log's horizon cluster-wide")
    func catchUpOutlastsAnotherDatabasesTransaction() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        // Another test's work elsewhere on the cluster, holding a transaction id (as CREATE DATABASE does) for a while.
        let holding = DispatchSemaphore(value: 0)
        let elsewhere = BackgroundWork<Void, any Error> {
            let connection = try PostgresConnection(conninfo: TestDatabase.adminURL)
            try connection.execute("BEGIN")
            _ = try connection.query("SELECT pg_current_xact_id()")
            holding.signal()
            Thread.sleep(forTimeInterval: 1.5)
            try connection.execute("COMMIT")
        }
        try #require(holding.wait(timeout: .now() + 10) == .success)
        let request = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo,
            at: world.now)
        let log = EventLog(connection: world.connection)
        #expect(try log.countWaiting(after: .start, horizon: try log.horizon()) > 0, "the request waits behind the horizon")
        try world.project()
        try elsewhere.value()
        #expect(try world.desk.list().map(\.id) == [request.id])
    }

    @Test("the list lags the log until the projection runs, and then agrees again after a restart, a rebuild and `projections rebuild`")
    func restartAndRebuild() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        let (cli, api) = try Self.openRequests(in: world)

        // Written while no runner runs: the list does not show it yet, and says how far behind it is.
        _ = try world.desk.close(cli.id, outcome: .answered, by: world.dpo, at: world.now.adding(seconds: 300))
        #expect(try world.desk.list().first { $0.id == cli.id }?.status == .open)
        #expect(try world.desk.eventsNotYetListed() > 0)
        // `requests list` prints the projection as it is, and says on standard error that it is behind.
        let common = ["--database-url", world.database.serviceURL, "--key-dir", world.keyDirectory.path]
        let printed = try runCallAudit(["requests", "list", "--status", "open"] + common)
        #expect(printed.status == 0 && printed.output.contains(cli.id), "\(printed.output)")
        let warned = try runCallAuditCapturingErrors(["requests", "list"] + common)
        #expect(warned.status == 0 && warned.error.contains("behind the log"), "\(warned.error)")

        // Runners started afresh (a restart) go on from their checkpoints.
        world.restartProjections()
        try world.project()
        #expect(try world.desk.list() == (try Self.folded(world)))
        #expect(try world.desk.list().first { $0.id == cli.id }?.status == .answered)
        let answered = try runCallAudit(["requests", "list", "--status", "answered"] + common)
        #expect(answered.status == 0 && answered.output.contains(cli.id), "\(answered.output)")
        #expect(try runCallAuditCapturingErrors(["requests", "list"] + common).error.isEmpty, "caught up: no note")

        _ = try world.desk.extend(api.id, reason: "many recordings", by: world.dpo, at: world.now.adding(seconds: 400))
        try world.project()
        let current = try Self.folded(world)
        #expect(try world.desk.list() == current)

        // Emptied behind the runner's back, a rebuild gives back the same rows from the log alone.
        try world.database.owner().execute("DELETE FROM subject_requests")
        try world.rebuild()
        #expect(try world.desk.list() == current)

        // And so does the operator's command, once no runner leads the projection (the last one's session is closing).
        world.restartProjections()
        try world.database.owner().execute("DELETE FROM subject_requests")
        #expect(try waitUntil(seconds: 10) { try ProjectionRunner.isLeaderless("subject_requests", on: world.connection) })
        let (output, exit) = try runCallAudit(["projections", "rebuild", "subject_requests", "--database-url", world.database.serviceURL])
        #expect(exit == 0 && output.contains("rebuilt subject_requests"), "\(output)")
        #expect(try world.desk.list() == current)
    }

    @Test("a forged second opening from another source changes nothing in the projected request; it is only a claim")
    func forgedSecondOpenerChangesNothing() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest([
            RequestOwnershipTests.erasureRequested("a-1", request: "plat-7", source: "urn:pbx:a", at: "2026-11-20T10:00:00Z", phone: "+14155550101")
        ])
        try world.project()
        let before = try #require(try world.desk.list().first { $0.id == "plat-7" })
        // Another source names the same request, earlier: the fold keeps the first stored opening.
        try world.ingest([
            RequestOwnershipTests.erasureRequested("b-1", request: "plat-7", source: "urn:pbx:b", at: "2026-11-01T10:00:00Z", phone: "+14155550202")
        ])
        // And a platform event naming the DPO's own request, stored past the decoder.
        let opened = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo,
            at: world.now)
        try world.project()
        let dpoBefore = try #require(try world.desk.list().first { $0.id == opened.id })
        try RequestOwnershipTests.storeUnchecked(
            RequestOwnershipTests.erasureRequested("evil-1", request: opened.id, source: "urn:elsewhere", at: "2020-01-01T00:00:00Z", phone: "+14155550999"),
            in: world)
        try world.project()

        let listed = try world.desk.list()
        #expect(listed.first { $0.id == "plat-7" } == before)
        #expect(before.receivedEventID == "a-1" && before.receivedAt == Timestamp(rfc3339: "2026-11-20T10:00:00Z"))
        #expect(listed.first { $0.id == opened.id } == dpoBefore)
        #expect(dpoBefore.kind == .access && dpoBefore.channel == "cli")
        #expect(try world.desk.request("plat-7")?.claims.map(\.eventID) == ["b-1"], "the desk's fold sees the claim")
        #expect(listed == (try Self.folded(world)))
    }

    @Test("the table is the owner's: the service fills it through its grants, and can neither change its shape nor hand it on; it holds no identifiers")
    func serviceRoleCannotReshapeTheTable() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        #expect(try owner.query("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'subject_requests'").scalar == "postgres")
        #expect(try database.count("SELECT count(*) FROM rebuildable_tables WHERE table_name = 'subject_requests'") == 1)
        let columns = try owner.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'subject_requests' AND table_schema = 'public' ORDER BY 1"
        ).decode(String.self)
        #expect(columns.allSatisfy { !["subject", "phone", "email", "customer_id", "employee_id", "subject_refs"].contains($0) }, "\(columns)")

        let service = try PostgresConnection(conninfo: database.serviceURL)
        let attacks = [
            "ALTER TABLE subject_requests ADD COLUMN planted text DEFAULT pg_catalog.current_user", "ALTER TABLE subject_requests OWNER TO callaudit_service",
            "CREATE TRIGGER planted BEFORE INSERT ON subject_requests FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change()",
            "CREATE RULE planted AS ON INSERT TO subject_requests DO INSTEAD NOTHING", "DROP TABLE subject_requests",
            "ALTER TABLE subject_requests ENABLE ROW LEVEL SECURITY",
        ]
        #expect(LeastPrivilegeTests.accepted(attacks, on: service).isEmpty, "the service reshaped subject_requests")
        _ = LeastPrivilegeTests.accepted(["GRANT ALL ON subject_requests TO PUBLIC", "GRANT TRIGGER ON subject_requests TO callaudit_service"], on: service)
        let granted = try owner.query(
            "SELECT has_table_privilege('public', 'public.subject_requests', 'INSERT')::text, has_table_privilege('callaudit_service', 'public.subject_requests', 'TRIGGER')::text, has_table_privilege('callaudit_reader', 'public.subject_requests', 'INSERT')::text"
        ).decodeFirst((String, String, String).self)
        #expect(granted.map { [$0, $1, $2] } == ["false", "false", "false"])
        // What the runner does: write rows, and copy and swap the table in a rebuild.
        let written = LeastPrivilegeTests.accepted(
            ["INSERT INTO subject_requests VALUES ('r', 'access', 'gdpr', 'cli', now(), 'e', NULL, 'open', NULL)",
             "SELECT callaudit_rebuild_prepare('{subject_requests}'); SELECT callaudit_rebuild_swap('{subject_requests}', '{}')"],
            on: service)
        #expect(written.count == 2, "\(written)")
    }
}
}
