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
        #expect(matrix.count == 32)
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
        let refused = shellOutput("openssl pkeyutl -verify -pubin -inkey '\(pem)' -rawin -in '\(changed)' -sigfile '\(raw)'")
        #expect(refused.status == 1 && refused.output.contains("Signature Verification Failure"), "OpenSSL refuses the tampered report: \(refused.output)")

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
        try #require(toolExists("curl") && toolExists("openssl"), "curl and openssl make and check the certificate")
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
        // Plain HTTP to the TLS port gets no HTTP answer at all (a refusal by status would mean it was served in clear).
        let plain = #expect(throws: TestFailure.self) { try RunningAPI.httpRequest(base: "http://127.0.0.1:\(port)", "GET", "/healthz", timeout: 10) }
        #expect(plain != nil)
    }
}
