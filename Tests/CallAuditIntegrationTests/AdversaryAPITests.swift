import CallAuditDomain
import CallAuditSigning
import CallAuditStore
import Foundation
import NIOCore
import Testing

@testable import CallAuditAPI
@testable import CallAuditReports
@testable import CallAuditRequests

/// The API's own bookkeeping, held to its bounds without a server.
@Suite("The API's bounded tables: token cache, failed authentications, report cache, generation queue")
struct APIBoundsTests {
    private static func hash(_ n: Int) -> [UInt8] { APITokenStore.hash("ca_\(n)") }

    @Test("20,000 unknown tokens neither evict a valid one nor grow the cache past its bound")
    func unknownTokensCannotFlushValidOnes() {
        let cache = TokenCache(lifetime: .seconds(60), maxInvalid: 1_024)
        let auditor = Caller(name: "auditor-1", role: .auditor)
        cache.store(Self.hash(-1), auditor)
        for n in 0..<20_000 { cache.store(Self.hash(n), nil) }
        #expect(cache.lookup(Self.hash(-1)) == .valid(auditor), "the valid token is still answered without a lookup")
        #expect(cache.counts.valid == 1 && cache.counts.invalid <= 1_024)
        #expect(cache.lookup(Self.hash(5)) == .unknown(wasValid: false), "long-forgotten unknown tokens are just unknown")
    }

    @Test("a valid token past its lifetime is looked up again, as one that was valid; a revoked one turns invalid")
    func staleValidTokens() {
        let start = ContinuousClock.now
        let cache = TokenCache(lifetime: .seconds(2))
        let ops = Caller(name: "ops-1", role: .ops)
        cache.store(Self.hash(1), ops, now: start)
        #expect(cache.lookup(Self.hash(1), now: start + .seconds(1)) == .valid(ops))
        #expect(cache.lookup(Self.hash(1), now: start + .seconds(3)) == .unknown(wasValid: true))
        #expect(cache.stale(Self.hash(1), within: .seconds(300), now: start + .seconds(3)) == ops)
        #expect(cache.stale(Self.hash(1), within: .seconds(300), now: start + .seconds(400)) == nil, "no grace past its end")
        cache.store(Self.hash(1), nil, now: start + .seconds(3))
        #expect(cache.lookup(Self.hash(1), now: start + .seconds(4)) == .invalid)
        #expect(cache.stale(Self.hash(1), within: .seconds(300), now: start + .seconds(4)) == nil, "a revoked token has no grace")
    }

    @Test("an address gets its burst of failures, then waits; other addresses are not affected; the allowance refills")
    func failuresPerAddress() {
        let start = ContinuousClock.now
        let failures = FailedAuthentications(perMinute: 6, burst: 10, now: start)
        let (guesser, neighbour) = (ClientAddress("192.0.2.1"), ClientAddress("192.0.2.2"))
        for _ in 0..<10 { #expect(failures.take(guesser, now: start) == nil) }
        let wait = failures.take(guesser, now: start)
        #expect(wait.map { $0 > .seconds(9) && $0 <= .seconds(10) } == true, "one failure back every 10 s: \(String(describing: wait))")
        #expect(failures.take(neighbour, now: start) == nil)
        #expect(failures.take(guesser, now: start + .seconds(10)) == nil, "refilled by one")
        #expect(failures.take(guesser, now: start + .seconds(10)) != nil)
        failures.refund(guesser)
        #expect(failures.take(guesser, now: start + .seconds(10)) == nil, "a token that proved valid gives its failure back")
    }

    @Test("many addresses together cannot exceed ten times one address's allowance")
    func failuresAcrossAddresses() {
        let start = ContinuousClock.now
        let failures = FailedAuthentications(perMinute: 6, burst: 10, now: start)
        var admitted = 0
        for n in 0..<1_000 {
            let client = ClientAddress("198.51.100.\(n % 250)-\(n)")
            if failures.take(client, now: start) == nil { admitted += 1 }
        }
        #expect(admitted == 100)
    }

    @Test("the table of addresses stays bounded, dropping the least recent failure first")
    func failureTableBounded() {
        let start = ContinuousClock.now
        let failures = FailedAuthentications(perMinute: 6, burst: 1_000, maxClients: 100, now: start)
        for n in 0..<1_000 { failures.record(ClientAddress("addr-\(n)"), now: start + .milliseconds(n)) }
        #expect(failures.clientCount <= 100)
    }

    @Test("IPv6 peers are counted per /64: a host cannot escape by changing its interface id")
    func ipv6Prefix() throws {
        let a = ClientAddress(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1))
        let b = ClientAddress(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2))
        let c = ClientAddress(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1))
        #expect(a == b && a != c)
        #expect(a.description == "2001:0db8:0001:0002::/64")
        #expect(ClientAddress(try SocketAddress(ipAddress: "203.0.113.7", port: 1)).description == "203.0.113.7")
    }

    @Test("zero failures a minute turns the throttle off")
    func throttleOff() {
        let failures = FailedAuthentications(perMinute: 0, burst: 1)
        for _ in 0..<100 { #expect(failures.take(ClientAddress("x")) == nil) }
    }

    private static func report(_ id: String, bytes: Int) -> ServedReport {
        ServedReport(StoredReport(
            reportID: id, version: 1, kind: .day, status: "final", periodStart: Timestamp(microseconds: 0), periodEnd: Timestamp(microseconds: 1),
            timeZone: "UTC", generatedAt: Timestamp(microseconds: 0), body: Array(repeating: UInt8(ascii: " "), count: bytes),
            signature: DetachedSignature(keyID: "k", bytes: Array(repeating: 0, count: 64)), findingsDigest: "", findings: 0, throughPosition: 0,
            bodySHA256: ""))
    }

    @Test("the report cache holds at most its bytes, pushing out the least recently read; a report bigger than the budget is not kept")
    func reportCacheBytes() {
        let cache = ReportCache(capacity: 10_000)
        // Each costs its body and 512 bytes around it: four fit in 10,000 bytes, five do not.
        for n in 0..<4 { cache.put("r\(n)", Self.report("r\(n)", bytes: 1_900)) }
        #expect(cache.usage.entries == 4)
        _ = cache.get("r0")  // read again: now the most recent
        cache.put("r4", Self.report("r4", bytes: 1_900))
        cache.put("r5", Self.report("r5", bytes: 1_900))
        #expect(cache.usage.bytes <= 10_000)
        #expect(cache.contains("r0"), "recently read, kept")
        #expect(!cache.contains("r1") && !cache.contains("r2"), "least recently used, pushed out")
        cache.put("huge", Self.report("huge", bytes: 20_000))
        #expect(!cache.contains("huge") && cache.contains("r5"), "too big to keep, and it pushed nothing out")
        #expect(ReportCache(capacity: 0).usage.entries == 0)
    }

    @Test("generation runs one at a time: a token's second request gets 429, a full queue 503, both with Retry-After; the queue drains in order")
    func generationQueue() async throws {
        let queue = GenerationQueue(waiting: 1)
        let (gate, release) = AsyncStream<Void>.makeStream()
        let first = Task { try await queue.run(for: "auditor-1") { for await _ in gate { break }; return 1 } }
        while await !(queue.load.running) { await Task.yield() }
        let second = Task { try await queue.run(for: "admin-1") { 2 } }
        while queue.load.waiting < 1 { await Task.yield() }

        let busy = await #expect(throws: Problem.self) { try await queue.run(for: "auditor-1") { 3 } }
        #expect(busy?.status == .tooManyRequests && Int(busy?.headers[.retryAfter] ?? "") ?? 0 >= 1)
        let full = await #expect(throws: Problem.self) { try await queue.run(for: "auditor-2") { 4 } }
        #expect(full?.status == .serviceUnavailable && Int(full?.headers[.retryAfter] ?? "") ?? 0 >= 1)

        release.yield()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(queue.load.running == false && queue.load.waiting == 0)
        #expect(try await queue.run(for: "auditor-1") { 5 } == 5, "free again")
    }
}

extension DatabaseTests {
@Suite("The API against an adversary: formula cells, token guessing, readiness, on-demand reports")
struct AdversaryAPITests {
    static let formula = #"=HYPERLINK("http://example.invalid","open")"#

    @Test("a producer's call id written as a formula reaches every CSV neutralised: the report CSV, findings --format csv, the access export")
    func csvInjection() throws {
        let api = try RunningAPI()
        let customer: JSONValue = ["party_id": "p", "role": "customer", "jurisdiction": "DE", "subject": ["phone": "+14155550100"]]
        try api.append([
            try contractEvent("f1", .callStarted, at: "2026-11-23T10:00:00Z", [
                "call_id": .string(Self.formula), "direction": "inbound", "channel": "phone",
                "parties": [["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": "E1"]], customer]]),
            try contractEvent("f2", .recordingStarted, at: "2026-11-23T10:00:05Z", ["call_id": .string(Self.formula), "recording_id": "-1+cmd"]),
        ])
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        let csv = try api.get("/v1/reports/day-2026-11-23.csv", token: api.tokens["auditor"])
        #expect(csv.status == 200)
        #expect(csv.text.contains(#""'=HYPERLINK(""http://example.invalid"",""open"")""#), "\(csv.text)")
        #expect(csv.text.contains(#""'-1+cmd""#))
        for line in csv.text.split(separator: "\n") {
            for cell in line.split(separator: ",", omittingEmptySubsequences: false) {
                #expect(!"=+-@".contains(cell.first ?? " "), "no cell starts a formula: \(cell)")
            }
        }

        let findings = try runCallAudit(["findings", "--from", "2026-11-23", "--to", "2026-11-24", "--format", "csv", "--database-url", api.database.ownerURL])
        #expect(findings.status == 0 && findings.output.contains(#""'=HYPERLINK("#), "\(findings.output)")
    }

    @Test("the access export's CSVs neutralise formula cells; the person's own E.164 number is prefixed too, as documented")
    func exportCSVInjection() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall(Self.formula, at: "2026-11-20T10:00:00Z", parties: [
            Events.party("p-cust", "customer", ["phone": "+14155550100"]), Events.party("p-agent", "agent", ["employee_id": "E4711"]),
        ]))
        let request = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo)
        let files = try world.unzip(try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo))
        let calls = try #require(files["calls.csv"])
        #expect(calls.contains(#""'=HYPERLINK(""http://example.invalid"",""open"")""#), "\(calls)")
        #expect(!calls.contains("\n=") && !calls.contains(",="))
        #expect(try JSONParser.parse(Array(files["export.json"]!.utf8))["calls"]?.arrayValue?.first?["call_id"]?.stringValue == Self.formula,
                "export.json keeps the value as it is: only CSV cells are neutralised")
        #expect(CSV.field("+14155550100") == "\"'+14155550100\"")
    }

    @Test("unknown tokens from one address get 429 with Retry-After after the burst, without a lookup each; a valid token keeps working")
    func failedAuthenticationIsThrottled() throws {
        let api = try RunningAPI()
        let auditor = api.tokens["auditor"]!
        #expect(try api.get("/v1/keys", token: auditor).status == 200)
        #expect(try api.get("/metrics", token: api.tokens["ops"]).status == 200, "ops: a valid token, seen before the guessing")
        var statuses: [Int] = []
        var throttled: RunningAPI.Reply?
        for n in 0..<40 {
            let reply = try api.get("/v1/keys", token: "ca_guess-\(n)-\(UUID().uuidString)")
            statuses.append(reply.status)
            if reply.status == 429, throttled == nil { throttled = reply }
            #expect(try api.get("/v1/keys", token: auditor).status == 200, "the valid token from the same address works throughout")
        }
        #expect(Array(statuses.prefix(10)) == Array(repeating: 401, count: 10), "the burst: \(statuses)")
        #expect(statuses.dropFirst(10).allSatisfy { $0 == 429 }, "then throttled: \(statuses)")
        let limited = try #require(throttled)
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(limited.headers["content-type"] == "application/problem+json")
        #expect(limited.json?["type"]?.stringValue?.hasSuffix("authentication-throttled") == true)

        // A token the service has never seen valid is not looked up from this address until the allowance refills.
        #expect(try api.get("/v1/keys", token: api.tokens["dpo"]).status == 429)

        let metrics = try api.get("/metrics", token: api.tokens["ops"]).text
        let unknownLookups = metrics.split(separator: "\n").first { $0.hasPrefix("callaudit_http_token_lookups_total{result=\"unknown\"}") }
        #expect(unknownLookups?.split(separator: " ").last.flatMap { Double($0) } == 10, "one query per failure in the burst, none after: \(String(describing: unknownLookups))")
        #expect(metrics.contains("callaudit_http_auth_throttled_total 31"))
    }

    @Test("anonymous /readyz says ready and nothing else; an ops or admin token sees the checks; an auditor is told what anyone is")
    func readinessSaysLittle() throws {
        let api = try RunningAPI(extra: ["--status-interval-ms", "500"])
        #expect(try waitUntil(seconds: 20) { try api.get("/readyz").status == 200 })
        #expect(try api.get("/readyz").json == ["status": "ready"])
        #expect(try api.get("/readyz", token: api.tokens["auditor"]).json == ["status": "ready"])
        let detailed = try api.get("/readyz", token: api.tokens["ops"]).json
        #expect(detailed?["checks"]?["database"]?.stringValue == "ok" && detailed?["checks"]?["keys"]?.stringValue == "ok")
        #expect(try api.get("/readyz", token: api.tokens["admin"]).json?["checks"] != nil)
        #expect(try api.get("/healthz", token: "ca_anything").status == 200, "public routes never read the token")
    }

    @Test("on-demand reports: at most the configured range; one at a time per token (429), a full queue answers 503; made on the pool's session")
    func onDemandReportsAreBounded() throws {
        let api = try RunningAPI(extra: ["--report-max-range-days", "31", "--report-queue", "0"])
        let (auditor, admin) = (api.tokens["auditor"]!, api.tokens["admin"]!)
        func post(_ body: String, _ token: String) throws -> RunningAPI.Reply { try api.request("POST", "/v1/reports", token: token, body: Array(body.utf8)) }
        let long = try post(#"{"from":"2026-10-01","to":"2026-11-02"}"#, auditor)
        #expect(long.status == 400 && long.json?["type"]?.stringValue?.hasSuffix("report-range-too-long") == true, "\(long.text)")
        #expect(try post(#"{"from":"2026-10-01","to":"2026-11-01"}"#, auditor).status == 201, "31 days is allowed")

        // Hold the report table so the next generation waits inside PostgreSQL, then ask again while it does.
        let holder = try PostgresConnection(conninfo: api.database.ownerURL)
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE audit_reports IN ACCESS EXCLUSIVE MODE")
        let first = ReplyBox(api: api)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            first.reply = try? first.api.request("POST", "/v1/reports", token: auditor, body: Array(#"{"from":"2026-11-01","to":"2026-11-02"}"#.utf8))
            done.signal()
        }
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'callaudit-api'"
        #expect(try waitUntil(seconds: 20) { try api.database.count(waiting) == 1 }, "the first generation waits on the lock")
        let busy = try post(#"{"from":"2026-11-02","to":"2026-11-03"}"#, auditor)
        #expect(busy.status == 429 && Int(busy.headers["retry-after"] ?? "") ?? 0 >= 1, "\(busy.text)")
        #expect(busy.json?["type"]?.stringValue?.hasSuffix("report-generation-busy") == true)
        let full = try post(#"{"from":"2026-11-02","to":"2026-11-03"}"#, admin)
        #expect(full.status == 503 && Int(full.headers["retry-after"] ?? "") ?? 0 >= 1, "\(full.text)")
        #expect(try api.database.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'callaudit-reports-findings'") == 0,
                "no session outside the pool")
        try holder.execute("COMMIT")
        done.wait()
        #expect(first.reply?.status == 201, "\(first.reply?.text ?? "no reply")")
        #expect(try post(#"{"from":"2026-11-02","to":"2026-11-03"}"#, admin).status == 201, "free again")
    }
}
}

/// A reply filled in by another thread, which the test reads after it signalled.
private final class ReplyBox: @unchecked Sendable {
    let api: RunningAPI
    var reply: RunningAPI.Reply?
    init(api: RunningAPI) { self.api = api }
}
