import CallAuditDomain
import CallAuditSimulator
import CallAuditStore
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `callaudit serve` with its HTTP API, fed by events appended straight to the store.
final class RunningAPI {
    let database: TestDatabase
    let kafka: TestKafka
    let keys: URL
    let port: Int
    let serve: ServeProcess
    var tokens: [String: String] = [:]

    /// `asOwner`: serve as the database's owner (a superuser), with `--allow-privileged-role`.
    /// `listen`: the host serve binds (`[::]` for a dual-stack socket); requests still go to 127.0.0.1.
    init(extra: [String] = [], partitions: Int32 = 1, asOwner: Bool = false, listen: String = "127.0.0.1") throws {
        database = try TestDatabase.create()
        kafka = try TestKafka(partitions: partitions)
        keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        port = freePort()
        serve = try ServeProcess(
            kafka: kafka, database: database,
            extra: ["--http-address", "\(listen):\(port)", "--key-dir", keys.path, "--report-close-delay-hours", "0", "--report-interval", "1"]
                + (asOwner ? ["--database-url", database.ownerURL, "--allow-privileged-role"] : []) + extra)
        for role in ["auditor", "dpo", "ops", "admin"] {
            tokens[role] = try runCallAudit(["tokens", "create", "--role", role, "--name", "\(role)-1", "--database-url", database.ownerURL])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard waitUntil(seconds: 30, { (try? self.get("/healthz").status) == 200 }) else {
            throw TestFailure("the API did not come up: \(serve.standardError)")
        }
    }

    deinit {
        _ = serve.terminate(within: 10)
        try? FileManager.default.removeItem(at: keys)
        database.drop()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Appends events as the ingest service would.
    func append(_ events: [IncomingEvent]) throws {
        try EventStore(connection: try PostgresConnection(conninfo: database.serviceURL)).append(IngestBatch(events: events), consumerGroup: "test")
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: JSONValue? { try? JSONParser.parse(body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func get(_ path: String, token: String? = nil) throws -> Reply { try request("GET", path, token: token) }

    func request(_ method: String, _ path: String, token: String? = nil, authorization: String? = nil, body: [UInt8]? = nil) throws -> Reply {
        try Self.httpRequest(base: base, method, path, token: token, authorization: authorization, body: body)
    }

    /// One request to the API at `base` (`http://127.0.0.1:PORT`), waiting for its answer.
    static func httpRequest(
        base: String, _ method: String, _ path: String, token: String? = nil, authorization: String? = nil, body: [UInt8]? = nil,
        timeout: Double = 60
    ) throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.value = (data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        guard let (data, response, error) = result.value, let response else {
            throw TestFailure("\(method) \(path): \(String(describing: result.value?.2))")
        }
        _ = error
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: response.statusCode, headers: headers, body: Array(data ?? Data()))
    }

    /// Waits for the scheduler to issue `id` at `version` or later; its listing.
    func awaitReport(_ id: String, version: Int = 1, seconds: Double = 60) throws -> JSONValue? {
        var found: JSONValue?
        _ = try waitUntil(seconds: seconds) {
            found = try get("/v1/reports", token: tokens["auditor"]).json?["reports"]?.arrayValue?.first {
                $0["report_id"]?.stringValue == id && ($0["version"]?.numberValue ?? 0) >= Double(version)
            }
            return found != nil
        }
        return found
    }
}

private final class ResultBox: @unchecked Sendable {
    var value: (Data?, HTTPURLResponse?, (any Error)?)?
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port nobody listens on right now.
func freePort() -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Simulated events of `calls` calls on 2026-11-23, decoded as ingest would.
func simulatedEvents(calls: Int, seed: UInt64 = 3, days: Int64 = 1, start: String = "2026-11-23T00:00:00Z") -> [IncomingEvent] {
    var configuration = SimulationConfiguration()
    configuration.calls = calls
    configuration.seed = seed
    configuration.violationRate = 0.2
    configuration.start = Timestamp(rfc3339: start)!
    configuration.spanSeconds = days * 86_400
    var events: [IncomingEvent] = []
    TrafficSimulator(configuration: configuration).generate { message in
        let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
        if case .success(let event) = EventDecoder().decode(incoming) { events.append(IncomingEvent(event: event, origin: nil)) }
    }
    return events
}

/// A contract event built in code.
func contractEvent(_ id: String, _ type: EventType, at time: String, _ data: JSONValue) throws -> IncomingEvent {
    IncomingEvent(
        event: try EventDecoder.validate(
            ["specversion": "1.0", "id": .string(id), "source": "urn:late", "type": .string(type.rawValue), "time": .string(time), "data": data]),
        origin: nil)
}

extension DatabaseTests {
@Suite("The auditor's surface: API, roles, signed reports, offline verification")
struct AuditorSurfaceTests {
    @Test("every endpoint × every role as the OpenAPI document's x-roles say; missing, malformed, unknown and revoked tokens get 401")
    func roleMatrix() throws {
        // The matrix tries an unknown token on every operation: more failures than one address may make by default.
        let api = try RunningAPI(extra: ["--auth-failure-burst", "1000"])
        try api.append(simulatedEvents(calls: 40))
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        let matrix = try documentedRoles()
        #expect(matrix.count == 25)
        for (operation, allowed) in matrix {
            let (method, template) = (operation.0, operation.1)
            for (role, token) in api.tokens {
                let (path, body) = try trial(method, template, api)
                let reply = try api.request(method, path, token: token, body: body)
                let ok = allowed.contains("public") || allowed.contains(role)
                #expect(ok ? (200..<300).contains(reply.status) : reply.status == 403, "\(method) \(path) as \(role): \(reply.status)")
                if !ok { #expect(reply.headers["content-type"] == "application/problem+json") }
            }
            guard !allowed.contains("public") else { continue }
            let (path, body) = try trial(method, template, api)
            #expect(try api.request(method, path, body: body).status == 401, "\(method) \(path) without a token")
            #expect(try api.request(method, path, authorization: "Basic dXNlcjpwYXNz", body: body).status == 401, "malformed")
            #expect(try api.request(method, path, token: "ca_not-a-real-token", body: body).status == 401, "unknown token")
        }
        #expect(try runCallAudit(["tokens", "revoke", "auditor-1", "--database-url", api.database.ownerURL]).status == 0)
        #expect(try waitUntil(seconds: 5) { try api.get("/v1/reports", token: api.tokens["auditor"]).status == 401 }, "revoked within seconds")
        let listed = try runCallAudit(["tokens", "list", "--database-url", api.database.ownerURL]).output
        #expect(listed.contains("auditor-1") && listed.contains("revoked"))
        #expect(try api.database.count("SELECT count(*) FROM api_tokens WHERE token_hash = sha256(convert_to('\(api.tokens["dpo"]!)', 'UTF8'))") == 1,
                "only the hash is stored")
    }

    /// The path and body an operation is tried with: a report that exists, or
    /// a data-subject request opened for the purpose (an extension or an
    /// erasure happens once per request).
    private func trial(_ method: String, _ template: String, _ api: RunningAPI) throws -> (path: String, body: [UInt8]?) {
        guard template.hasPrefix("/v1/requests") else {
            let body: [UInt8]? = method == "POST" ? Array(#"{"from":"2026-11-23","to":"2026-11-24"}"#.utf8) : nil
            return (template.replacingOccurrences(of: "{id}", with: "day-2026-11-23").replacingOccurrences(of: "{n}", with: "1"), body)
        }
        let kind = template.hasSuffix("erase") ? "erasure" : "access"
        let open = Array(#"{"type":"\#(kind)","regime":"gdpr","subject":{"phone":"+14155550100"},"verified_by":"call-back"}"#.utf8)
        if template == "/v1/requests" { return (template, method == "POST" ? open : nil) }
        let id = try api.request("POST", "/v1/requests", token: api.tokens["dpo"], body: open).json?["request_id"]?.stringValue ?? "none"
        let body: [UInt8]? = template.hasSuffix("extend") ? Array(#"{"reason":"complex"}"#.utf8) : method == "POST" ? Array("{}".utf8) : nil
        return (template.replacingOccurrences(of: "{id}", with: id), body)
    }

    // Problems (404, 405 with Allow, 413, 400 without SQL) are route logic: CallAuditAPITests checks
    // them in-process (ProblemTests.methodsAndPaths, bodyLimit, badRequest, reportRange, problemsSayNoSQL).

    /// Also what `--rate-limit` sets (the burst with it); ProblemTests.rateLimit checks the limiter's answers in-process.
    @Test("a token over its rate limit gets 429 with Retry-After")
    func rateLimit() throws {
        let api = try RunningAPI(extra: ["--rate-limit", "2"])
        let replies = try (0..<12).map { _ in try api.get("/v1/keys", token: api.tokens["ops"]) }
        let limited = try #require(replies.first { $0.status == 429 })
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(limited.json?["type"]?.stringValue?.hasSuffix("rate-limited") == true)
        #expect(try api.get("/v1/keys", token: api.tokens["auditor"]).status == 200, "the limit is per token")
    }

    @Test("a report downloaded as it stands: canonical (Python agrees), signed (OpenSSL agrees), tamper-evident, still valid after a key rotation; reads are recorded")
    func signedReports() throws {
        let api = try RunningAPI()
        try api.append(simulatedEvents(calls: 120))
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        let token = api.tokens["auditor"]!
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func save(_ name: String, _ reply: RunningAPI.Reply) throws -> String {
            #expect(reply.status == 200, "\(name): \(reply.text)")
            let path = folder.appendingPathComponent(name).path
            try Data(reply.body).write(to: URL(fileURLWithPath: path))
            return path
        }
        let report = try save("report.json", try api.get("/v1/reports/day-2026-11-23", token: token))
        let raw = try save("report.sig", try api.get("/v1/reports/day-2026-11-23/signature?format=raw", token: token))
        let signatureJSON = try save("signature.json", try api.get("/v1/reports/day-2026-11-23/signature", token: token))
        let keyList = try save("keys.json", try api.get("/v1/keys", token: token))
        let keys = try #require(JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: keyList)))["keys"]?.arrayValue)
        let pem = folder.appendingPathComponent("key.pem").path
        try keys[0]["public_key_pem"]!.stringValue!.write(toFile: pem, atomically: true, encoding: .utf8)

        #expect(shell("python3 -c 'import rfc8785,json,sys; b=open(sys.argv[1],\"rb\").read(); sys.exit(0 if rfc8785.dumps(json.loads(b))==b else 1)' '\(report)'") == 0,
                "Python's RFC 8785 gives the same bytes")
        #expect(shell("openssl pkeyutl -verify -pubin -inkey '\(pem)' -rawin -in '\(report)' -sigfile '\(raw)'") == 0)
        let verified = try runCallAudit(["verify", report, "--signature", signatureJSON, "--keys", keyList])
        #expect(verified.status == 0 && verified.output.contains("valid: report day-2026-11-23 version 1"), "\(verified.output)")
        #expect(try runCallAudit(["verify", report, "--signature", raw, "--key", pem]).status == 0)

        var tampered = Array(try Data(contentsOf: URL(fileURLWithPath: report)))
        let index = tampered.firstIndex(of: UInt8(ascii: "5")) ?? tampered.count / 2
        tampered[index] = tampered[index] == UInt8(ascii: "5") ? UInt8(ascii: "6") : UInt8(ascii: "x")
        let changed = folder.appendingPathComponent("tampered.json").path
        try Data(tampered).write(to: URL(fileURLWithPath: changed))
        #expect(try runCallAudit(["verify", changed, "--signature", signatureJSON, "--keys", keyList]).status == 1)
        #expect(shell("openssl pkeyutl -verify -pubin -inkey '\(pem)' -rawin -in '\(changed)' -sigfile '\(raw)'") != 0)

        // A rotation: the old report still verifies against the published list, and new reports use the new key.
        let rotated = try runCallAudit(["keys", "rotate", "--key-dir", api.keys.path])
        #expect(rotated.status == 0)
        let afterRotation = try save("keys-after.json", try api.get("/v1/keys", token: token))
        let published = try #require(JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: afterRotation)))["keys"]?.arrayValue)
        #expect(published.compactMap { $0["status"]?.stringValue } == ["retired", "current"])
        #expect(try runCallAudit(["verify", report, "--signature", signatureJSON, "--keys", afterRotation]).status == 0)
        let generated = try api.request("POST", "/v1/reports", token: token, body: Array(#"{"from":"2026-11-23","to":"2026-11-24T12:00:00Z"}"#.utf8))
        #expect(generated.status == 201)
        let id = try #require(generated.json?["report_id"]?.stringValue)
        let newSignature = try api.get("/v1/reports/\(id)/signature", token: token).json
        #expect(newSignature?["key_id"]?.stringValue == published[1]["key_id"]?.stringValue)
        #expect(try api.get("/v1/reports/\(id)", token: token).json?["status"]?.stringValue == "provisional")

        // Every read above, by whom, is in the event store.
        let reads = try api.database.owner().query(
            """
            SELECT event->'data'->>'format', event->'data'->'reader'->>'name', event->'data'->'reader'->>'role', count(*)
            FROM events WHERE type = 'audit.report_read' AND event->'data'->>'report_id' = 'day-2026-11-23' GROUP BY 1, 2, 3 ORDER BY 1
            """).rows
        #expect(reads == [["json", "auditor-1", "auditor", "1"], ["signature", "auditor-1", "auditor", "2"]])
    }

    @Test("a closed day re-versioned by late events: version 2 lists what was raised and withdrawn; version 1 stays as signed")
    func lateEventsMakeANewVersion() throws {
        let api = try RunningAPI()
        let party: (String, String) -> JSONValue = { id, role in
            ["party_id": .string(id), "role": .string(role), "jurisdiction": "DE", "subject": ["customer_id": .string("C-\(id)")]]
        }
        try api.append([
            try contractEvent("s", .callStarted, at: "2026-11-23T10:00:00Z", [
                "call_id": "c", "direction": "inbound", "channel": "phone", "parties": [party("a", "agent"), party("p", "customer")]]),
            try contractEvent("r", .recordingStarted, at: "2026-11-23T10:00:05Z", ["call_id": "c", "recording_id": "r1"]),
        ])
        let first = try #require(try api.awaitReport("day-2026-11-23"))
        #expect(first["findings"]?.numberValue == 1, "the German customer did not consent")
        let v1 = try api.get("/v1/reports/day-2026-11-23", token: api.tokens["auditor"]).body

        // Late: the consent (cures the finding) and an access by a role not allowed (raises one).
        try api.append([
            try contractEvent("k", .consentGiven, at: "2026-11-23T10:00:06Z", [
                "call_id": "c", "party_id": "p", "method": "verbal", "scope": ["recording"]]),
            try contractEvent("x", .recordingAccessed, at: "2026-11-23T15:00:00Z", [
                "recording_id": "r1", "actor": ["id": "u9", "role": "intern"], "action": "play", "purpose": "quality_sample"]),
        ])
        _ = try #require(try api.awaitReport("day-2026-11-23", version: 2))
        // The API asks for the latest version at most once a second: it serves version 2 within that.
        #expect(try waitUntil(seconds: 3) { try api.get("/v1/reports/day-2026-11-23", token: api.tokens["auditor"]).json?["version"] == 2 })
        let v2 = try #require(try api.get("/v1/reports/day-2026-11-23", token: api.tokens["auditor"]).json)
        #expect(v2["version"]?.numberValue == 2)
        let changes = try #require(v2["changes"])
        #expect(changes["previous_version"]?.numberValue == 1)
        #expect(changes["raised"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } == ["ACCESS_UNAUTHORIZED_ROLE"])
        #expect(changes["withdrawn"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } == ["CONSENT_MISSING"])
        #expect(try api.get("/v1/reports/day-2026-11-23?version=1", token: api.tokens["auditor"]).body == v1, "version 1 is kept as signed")
        let update = #expect(throws: PostgresError.self) {
            try api.database.owner().execute("UPDATE audit_reports SET status = 'provisional'")
        }
        #expect(update?.sqlState == "42501", "reports are append-only")
    }

    @Test("for a simulated month the monthly report's findings are exactly the findings store's; the HTML draws its chart without console errors in Chromium")
    func monthReport() throws {
        let api = try RunningAPI()
        let events = simulatedEvents(calls: 1_500, seed: 8, days: 30, start: "2026-10-01T00:00:00Z")
        for chunk in stride(from: 0, to: events.count, by: 2_000) { try api.append(Array(events[chunk..<min(chunk + 2_000, events.count)])) }
        let listing = try #require(try api.awaitReport("month-2026-10", seconds: 120))
        let report = try #require(try api.get("/v1/reports/month-2026-10", token: api.tokens["auditor"]).json)
        let reported = Set((report["findings"]?.arrayValue ?? []).compactMap { $0["finding_key"]?.stringValue })
        let stored = Set(try api.database.owner().query(
            "SELECT finding_key FROM findings WHERE status = 'open' AND occurred_at >= '2026-10-01' AND occurred_at < '2026-11-01'"
        ).map { $0[0]! })
        #expect(!stored.isEmpty && reported == stored)
        #expect(listing["findings"]?.numberValue == Double(stored.count))
        #expect(report["daily"]?.arrayValue?.count == 31)
        let calls = report["summary"]?["calls"]?.numberValue ?? 0
        #expect(calls > 1_000 && calls <= 1_500)

        let html = try api.get("/v1/reports/month-2026-10.html", token: api.tokens["auditor"])
        #expect(html.status == 200 && html.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(!html.text.contains("http://") && !html.text.contains("https://"), "no external assets")
        let page = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).html")
        try Data(html.body).write(to: page)
        defer { try? FileManager.default.removeItem(at: page) }
        let (dom, console) = try headlessChromium(page)
        #expect(dom.contains("data-chart-drawn=\"yes\""), "the chart was laid out")
        #expect(!console.contains("CONSOLE"), "no console messages: \(console)")

        let csv = try api.get("/v1/reports/month-2026-10.csv", token: api.tokens["auditor"])
        let lines = csv.text.split(separator: "\n")
        #expect(lines.first?.hasPrefix("occurred_at,rule,severity,status,") == true && lines.count == stored.count + 1)
    }
}
}

/// The Swift side of `x-roles` in schemas/openapi.yaml: (method, path) → roles, read with Python's YAML parser.
func documentedRoles() throws -> [((String, String), [String])] {
    let script = """
        import json, sys, yaml
        doc = yaml.safe_load(open(sys.argv[1]))
        print(json.dumps([[m.upper(), p, op["x-roles"]] for p, ops in doc["paths"].items() for m, op in ops.items()]))
        """
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, root.appendingPathComponent("schemas/openapi.yaml").path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (try JSONParser.parse(Array(data)).arrayValue ?? []).map { entry in
        let items = entry.arrayValue!
        return ((items[0].stringValue!, items[1].stringValue!), items[2].arrayValue!.compactMap(\.stringValue))
    }
}

/// Runs a shell command; its exit status.
func shell(_ command: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command + " >/dev/null 2>&1"]
    try? process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// The DOM after scripts ran, and what Chromium logged from the page's console.
func headlessChromium(_ page: URL, screenshot: URL? = nil, budgetMilliseconds: Int = 3_000) throws -> (dom: String, console: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: profile) }
    process.arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--user-data-dir=\(profile.path)",
        "--virtual-time-budget=\(budgetMilliseconds)", "--dump-dom", page.absoluteString,
    ]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let dom = output.fileHandleForReading.readDataToEndOfFile()
    let log = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let console = String(decoding: log, as: UTF8.self).split(separator: "\n").filter { $0.contains("CONSOLE") }.joined(separator: "\n")
    return (String(decoding: dom, as: UTF8.self), console)
}

extension DatabaseTests.AuditorSurfaceTests {
    @Test("the OpenAPI document is valid, and schemathesis finds no 5xx and no response that breaks it against the live server")
    func openAPIConformance() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #expect(shell("python3 -m openapi_spec_validator '\(root.path)/schemas/openapi.yaml'") == 0)
        let api = try RunningAPI(extra: ["--rate-limit", "0"])
        try api.append(simulatedEvents(calls: 60))
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        let served = try api.get("/v1/openapi.yaml")
        #expect(served.body == Array(try Data(contentsOf: root.appendingPathComponent("schemas/openapi.yaml"))), "the server serves the committed document")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "schemathesis", "--config-file", root.appendingPathComponent("ops/schemathesis.toml").path, "run", "\(api.base)/v1/openapi.yaml",
            "--header", "Authorization: Bearer \(api.tokens["admin"]!)", "--checks", "all", "--max-examples", "40", "--seed", "1",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.environment = ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1"]) { $1 }
        // schemathesis keeps a cache in its working directory: not in the repository.
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "schemathesis:\n\(text.suffix(4_000))")
    }
}

extension DatabaseTests.AuditorSurfaceTests {
    @Test("with a certificate and key the API speaks TLS (swift-nio-ssl); plain HTTP to it fails")
    func tls() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (certificate, key) = (folder.appendingPathComponent("cert.pem").path, folder.appendingPathComponent("key.pem").path)
        #expect(shell("openssl req -x509 -newkey rsa:2048 -nodes -keyout '\(key)' -out '\(certificate)' -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1") == 0)
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try TestKafka(partitions: 1)
        let port = freePort()
        let serve = try ServeProcess(
            kafka: kafka, database: database,
            extra: ["--http-address", "127.0.0.1:\(port)", "--key-dir", folder.appendingPathComponent("keys").path,
                    "--tls-certificate", certificate, "--tls-key", key])
        defer { _ = serve.terminate(within: 10) }
        #expect(waitUntil(seconds: 30) { shell("curl -sf --cacert '\(certificate)' https://127.0.0.1:\(port)/healthz") == 0 }, "\(serve.standardError)")
        #expect(shell("curl -sf http://127.0.0.1:\(port)/healthz") != 0)
    }
}
