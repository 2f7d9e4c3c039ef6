import CallAuditDomain
import CallAuditRendering
import CallAuditSigning
import CallAuditStore
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing

@testable import CallAuditAPI
@testable import CallAuditIntegrity
@testable import CallAuditReports
@testable import CallAuditRequests

/// The API's own bookkeeping, held to its bounds without a server.
@Suite("The API's bounded tables: token cache, failed authentications, report cache, generation queue")
struct APIBoundsTests {
    private static func hash(_ n: Int) -> [UInt8] { APITokenStore.hash("ca_\(n)") }
    private static func caller(_ name: String, _ role: APIRole, token n: Int) -> Caller { Caller(name: name, role: role, token: TokenID(sha256: hash(n))) }

    @Test("20,000 unknown tokens neither evict a valid one nor grow the cache past its bound")
    func unknownTokensCannotFlushValidOnes() {
        let cache = TokenCache(lifetime: .seconds(60), maxInvalid: 1_024)
        let auditor = Self.caller("auditor-1", .auditor, token: -1)
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
        let ops = Self.caller("ops-1", .ops, token: 1)
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
        let failures = FailedAuthentications(perMinute: 6, burst: 10)
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

    @Test("failures from a thousand other addresses take nothing from one address's allowance: nothing is shared")
    func failuresAcrossAddresses() {
        let start = ContinuousClock.now
        let failures = FailedAuthentications(perMinute: 6, burst: 10)
        for n in 0..<1_000 {
            for _ in 0..<10 { #expect(failures.take(ClientAddress("198.51.100.\(n % 250)-\(n)"), now: start) == nil) }
        }
        for _ in 0..<10 { #expect(failures.take(ClientAddress("203.0.113.9"), now: start) == nil, "its whole burst") }
        #expect(failures.take(ClientAddress("203.0.113.9"), now: start) != nil, "and then its own throttle")
    }

    @Test("token lookups run in rounds on one session: a thousand at once are all answered, never refused, never two queries at a time")
    func tokenLookupsAreBatched() async throws {
        let valid = Set((0..<1_000).filter { $0 % 100 == 0 }.map { Self.hash($0) })
        let probe = LookupProbe()
        let lookups = TokenLookups(batch: 256) { hashes in
            probe.enter(hashes.count)
            defer { probe.leave() }
            try await Task.sleep(for: .milliseconds(5))
            return Dictionary(uniqueKeysWithValues: hashes.filter(valid.contains).map { ($0, Caller(name: "t", role: .auditor, token: TokenID(sha256: $0))) })
        }
        let found = try await withThrowingTaskGroup(of: (Int, Caller?).self) { group in
            for n in 0..<1_000 { group.addTask { (n, try await lookups.find(Self.hash(n))) } }
            return try await group.reduce(into: [Int: Caller?]()) { $0[$1.0] = $1.1 }
        }
        #expect(found.count == 1_000, "every lookup answered")
        #expect(found.filter { $0.value != nil }.keys.sorted() == (0..<1_000).filter { $0 % 100 == 0 }, "the valid ones found, the others unknown")
        let seen = probe.seen
        #expect(seen.concurrency == 1, "one query at a time")
        #expect(seen.largest <= 256 && seen.rounds <= 12, "in rounds of at most 256: \(seen)")
        #expect(lookups.waiting == 0)
    }

    @Test("a failed round fails only its own lookups; the next round asks again")
    func tokenLookupFailureIsPerRound() async throws {
        let calls = LookupProbe()
        let lookups = TokenLookups { hashes in
            calls.enter(hashes.count)
            defer { calls.leave() }
            if calls.seen.rounds == 1 { throw TestFailure("PostgreSQL is away") }
            return [:]
        }
        await #expect(throws: TestFailure.self) { try await lookups.find(Self.hash(1)) }
        #expect(try await lookups.find(Self.hash(1)) == nil)
    }

    @Test("the table of addresses stays bounded, dropping the least recent failure first")
    func failureTableBounded() {
        let start = ContinuousClock.now
        let failures = FailedAuthentications(perMinute: 6, burst: 1_000, maxClients: 100)
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

    @Test("a dual-stack socket's IPv4-mapped peers (::ffff:a.b.c.d) count as their IPv4 addresses, not as one /64")
    func ipv4MappedPeers() throws {
        let mapped = ClientAddress(try SocketAddress(ipAddress: "::ffff:127.0.0.2", port: 1))
        #expect(mapped.description == "127.0.0.2")
        #expect(mapped == ClientAddress(try SocketAddress(ipAddress: "127.0.0.2", port: 9)), "the same host on either socket")
        #expect(mapped != ClientAddress(try SocketAddress(ipAddress: "::ffff:127.0.0.3", port: 1)))
        #expect(ClientAddress(try SocketAddress(ipAddress: "::ffff:203.0.113.7", port: 1)).description == "203.0.113.7")
        #expect(ClientAddress(try SocketAddress(ipAddress: "::1", port: 1)).description == "0000:0000:0000:0000::/64", "other IPv6 peers stay per /64")
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
        let (auditor1, admin1, auditor2) = (TokenID(sha256: Self.hash(1)), TokenID(sha256: Self.hash(2)), TokenID(sha256: Self.hash(3)))
        let (gate, release) = AsyncStream<Void>.makeStream()
        let first = Task { try await queue.run(for: auditor1) { for await _ in gate { break }; return 1 } }
        while !queue.load.running { await Task.yield() }
        let second = Task { try await queue.run(for: admin1) { 2 } }
        while queue.load.waiting < 1 { await Task.yield() }

        let busy = await #expect(throws: Problem.self) { try await queue.run(for: auditor1) { 3 } }
        #expect(busy?.status == .tooManyRequests && Int(busy?.headers[.retryAfter] ?? "") ?? 0 >= 1)
        let full = await #expect(throws: Problem.self) { try await queue.run(for: auditor2) { 4 } }
        #expect(full?.status == .serviceUnavailable && Int(full?.headers[.retryAfter] ?? "") ?? 0 >= 1)

        release.yield()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(queue.load.running == false && queue.load.waiting == 0)
        #expect(try await queue.run(for: auditor1) { 5 } == 5, "free again")
    }

    @Test("per-token limits count the token, not its name: two tokens that carry one name have a generation slot and a rate bucket each")
    func limitsCountTokensNotNames() async throws {
        let (first, second) = (Self.caller("auditor-1", .auditor, token: 1), Self.caller("auditor-1", .auditor, token: 2))
        let queue = GenerationQueue(waiting: 1)
        let (gate, release) = AsyncStream<Void>.makeStream()
        let running = Task { try await queue.run(for: first.token) { for await _ in gate { break }; return 1 } }
        while !queue.load.running { await Task.yield() }
        let queued = Task { try await queue.run(for: second.token) { 2 } }
        while queue.load.waiting < 1 { await Task.yield() }
        #expect(queue.load.waiting == 1, "the second token queued rather than refused as busy")
        release.yield()
        #expect(try await running.value == 1)
        #expect(try await queued.value == 2)

        let buckets = TokenBuckets(rate: 1, burst: 1)
        let now = ContinuousClock.now
        #expect(buckets.take(first.token, now: now) == nil)
        #expect(buckets.take(first.token, now: now) != nil, "its burst is spent")
        #expect(buckets.take(second.token, now: now) == nil, "the other token's is not")
    }
}

/// What a stand-in lookup saw: queries at once (most), rounds, the largest round.
private final class LookupProbe: Sendable {
    private let state = Mutex((now: 0, concurrency: 0, rounds: 0, largest: 0))

    func enter(_ size: Int) {
        state.withLock { state in
            state.now += 1
            state.concurrency = max(state.concurrency, state.now)
            state.rounds += 1
            state.largest = max(state.largest, size)
        }
    }

    func leave() { state.withLock { $0.now -= 1 } }

    var seen: (concurrency: Int, rounds: Int, largest: Int) { state.withLock { ($0.concurrency, $0.rounds, $0.largest) } }
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

    @Test("120 failures from 12 other addresses lock out no one: a fresh valid token from another address is served; each guesser is throttled alone")
    func failuresElsewhereLockOutNoOne() throws {
        let api = try RunningAPI()
        for host in 10..<22 {
            for n in 0..<10 {
                let reply = try rawGET(api.port, "/v1/keys", from: "127.0.0.\(host)", token: "ca_guess-\(host)-\(n)")
                #expect(reply.status == 401, "127.0.0.\(host), failure \(n + 1) of its 10: \(reply.status)")
            }
        }
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.10", token: "ca_guess-again").status == 429, "a guesser past its own allowance")
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.1", token: api.tokens["auditor"]).status == 200,
                "a token the service has never seen valid, from an address that did not fail")
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.30", token: api.tokens["dpo"]).status == 200)
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.31", token: "ca_unknown").status == 401, "another address's allowance is whole")
    }

    @Test("on a dual-stack socket ([::]) each IPv4 peer is throttled alone: 10 failures from 127.0.0.2 throttle neither 127.0.0.3 nor a fresh token from 127.0.0.4")
    func dualStackPeersAreApart() throws {
        let api = try RunningAPI(extra: ["--allow-plain-http"], listen: "[::]")
        for n in 0..<10 { #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.2", token: "ca_guess-\(n)").status == 401) }
        let throttled = try rawGET(api.port, "/v1/keys", from: "127.0.0.2", token: "ca_guess-11")
        #expect(throttled.status == 429 && throttled.headers["retry-after"] != nil, "127.0.0.2 is past its allowance")
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.3", token: "ca_guess-12").status == 401, "127.0.0.3 is not")
        #expect(try rawGET(api.port, "/v1/keys", from: "127.0.0.4", token: api.tokens["dpo"]).status == 200)
    }

    // `/readyz` answering a malformed, unknown or revoked token as no token, and counting no failure:
    // route logic, checked in-process (CallAuditAPITests, PublicRoutesTests.readinessIgnoresBadTokens).

    @Test("a token's name is never given to a second token, even after it was revoked: names are unique in api_tokens")
    func tokenNamesAreNeverReused() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let tokens = APITokenStore(connection: try database.owner())
        _ = try tokens.create(name: "auditor-1", role: .auditor)
        #expect(throws: PostgresError.self) { try tokens.create(name: "auditor-1", role: .admin) }
        #expect(try tokens.revoke(name: "auditor-1"))
        #expect(throws: PostgresError.self) { try tokens.create(name: "auditor-1", role: .auditor) }
    }

    @Test("proofs find cited events however many sources producers wrote (here 20,000): the log is read once, not once per id")
    func proofsLookupIgnoresSourceCount() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        try owner.execute(
            """
            INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash)
            SELECT 'stream-' || g, 'com.example.test', 'producer-' || g, 'event-' || g, now(), '{}'::json, sha256(convert_to(g::text, 'UTF8'))
            FROM generate_series(1, 20000) g
            """)
        try owner.execute("ANALYZE events")
        func scans() throws -> Int { Int(try owner.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'events'").scalar ?? "0") ?? 0 }
        try owner.execute("SELECT pg_stat_clear_snapshot()")
        let before = try scans()
        let wanted = ["event-17", "event-4242", "event-19999", "event-missing"]
        let located = try InclusionProofs.locate(wanted, on: try PostgresConnection(conninfo: database.serviceURL))
        #expect(located.map(\.eventID) == ["event-17", "event-4242", "event-19999"], "found, in log order")
        _ = waitUntil(seconds: 5) { ((try? scans()) ?? 0) > before }
        #expect(try scans() - before <= 1, "one read of the log for all the ids")
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
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'callaudit-api'"
        #expect(try waitUntil(seconds: 20) { try api.database.count(waiting) == 1 }, "the first generation waits on the lock")
        let busy = try post(#"{"from":"2026-11-02","to":"2026-11-03"}"#, auditor)
        #expect(busy.status == 429 && Int(busy.headers["retry-after"] ?? "") ?? 0 >= 1, "\(busy.text)")
        #expect(busy.json?["type"]?.stringValue?.hasSuffix("report-generation-busy") == true)
        let full = try post(#"{"from":"2026-11-02","to":"2026-11-03"}"#, admin)
        #expect(full.status == 503 && Int(full.headers["retry-after"] ?? "") ?? 0 >= 1, "\(full.text)")
        #expect(try api.database.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'callaudit-reports-findings'") == 0,
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

/// One HTTP/1.1 GET sent from `source` (an address of the loopback, 127.0.0.x)
/// to the API on 127.0.0.1: the throttle counts the TCP peer, which URLSession
/// cannot choose.
func rawGET(_ port: Int, _ path: String, from source: String, token: String?) throws -> (status: Int, headers: [String: String]) {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw TestFailure("socket: \(errno)") }
    defer { close(socket) }
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }
    var local = address(source, 0)
    var server = address("127.0.0.1", port)
    let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw TestFailure("bind \(source): \(errno)") }
    let connected = withUnsafePointer(to: &server) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else { throw TestFailure("connect from \(source): \(errno)") }
    let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n" + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "Connection: close\r\n\r\n"
    let bytes = Array(request.utf8)
    guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw TestFailure("send: \(errno)") }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4_096)
    while case let count = buffer.withUnsafeMutableBytes({ recv(socket, $0.baseAddress, $0.count, 0) }), count > 0 { reply += buffer.prefix(count) }
    let head = String(decoding: reply, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
    guard let status = head.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { throw TestFailure("no HTTP reply from \(source)") }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return (status, headers)
}
