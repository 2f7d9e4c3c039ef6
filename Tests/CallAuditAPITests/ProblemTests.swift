import CallAuditDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CallAuditAPI

/// Bad requests, limits and refusals: each an RFC 9457 problem with the status,
/// slug and headers the API documents, decided before any query runs.
@Suite("Problems: bad input, the body limit, authentication, throttles")
struct ProblemTests {
    private static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// A request, who sends it, its body, and what the problem's detail starts with.
    static let badInputs: [(HTTPRequest.Method, String, APIRole, String?, String)] = [
        (.get, "/v1/reports?kind=fortnight", .auditor, nil, "kind must be one of"),
        (.get, "/v1/reports?status=draft", .auditor, nil, "status must be final or provisional"),
        (.get, "/v1/reports?from=yesterday", .auditor, nil, "from must be a date (YYYY-MM-DD) or an RFC 3339 date-time"),
        (.post, "/v1/reports", .auditor, "not json", "send a JSON object {\"from\": …, \"to\": …}"),
        (.post, "/v1/reports", .auditor, "[1]", "send a JSON object {\"from\": …, \"to\": …}"),
        (.post, "/v1/reports", .auditor, #"{"from": "2026-01-01"}"#, "from and to are required"),
        (.post, "/v1/reports", .admin, #"{"from": "2026-02-01", "to": "2026-01-01"}"#, "from must be before to"),
        (.get, "/v1/reports/r-1?version=0", .auditor, nil, "version must be an integer from 1 to 2147483647"),
        (.get, "/v1/reports/day-2026-11-23?version=99999999999", .admin, nil, "version must be an integer from 1 to 2147483647"),
        (.get, "/v1/reports/r-1.csv?version=x", .auditor, nil, "version must be an integer from 1 to 2147483647"),
        (.get, "/v1/reports/r-1/proofs?limit=1001", .auditor, nil, "limit must be between 1 and 1000"),
        (.get, "/v1/reports/r-1/proofs?after=-1", .auditor, nil, "after must be an integer from 0"),
        (.get, "/v1/seals?limit=0", .ops, nil, "limit must be between 1 and 1000"),
        (.get, "/v1/seals?after=x", .auditor, nil, "after must be a seal number (0 or more)"),
        (.get, "/v1/seals/0", .auditor, nil, "a seal number is 1 or more"),
        (.get, "/v1/seals?order=new", .auditor, nil, "order must be oldest or newest"),
        (.get, "/v1/seals?before=x", .ops, nil, "before must be a seal number (0 or more)"),
        (.get, "/v1/seals?order=newest&before=-1", .auditor, nil, "before must be a seal number (0 or more)"),
        // Pages: limits, and cursors that are not one this list made (forged, of another list, another order, an empty id).
        (.get, "/v1/reports?limit=0", .auditor, nil, "limit must be an integer from 1 to 500"),
        (.get, "/v1/reports?limit=ten", .auditor, nil, "limit must be an integer from 1 to 500"),
        (.get, "/v1/reports?after=%21%21", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVwb3J0c3wxfHI=", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVwb3J0c3wxfA", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVxdWVzdHN8cmVjZWl2ZWR8MXxxLTE", .admin, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports/r-1/bundle?version=0", .auditor, nil, "version must be an integer from 1 to 2147483647"),
        (.get, "/v1/requests?order=soonest", .dpo, nil, "order must be one of received, deadline"),
        (.get, "/v1/requests?limit=501", .dpo, nil, "limit must be an integer from 1 to 500"),
        (.get, "/v1/requests?after=cmVwb3J0c3wxfHI", .dpo, nil, "after must be the `next` cursor"),
        (.get, "/v1/requests?after=cmVxdWVzdHN8bGF0ZXJ8MXxxLTE", .dpo, nil, "after must be the `next` cursor"),
        (.get, "/v1/requests?order=deadline&after=cmVxdWVzdHN8cmVjZWl2ZWR8MXxxLTE", .dpo, nil, "after is a cursor of another order"),
        (.get, "/v1/requests?after=cmVxdWVzdHN8b3BlbnwxfHEtMQ", .admin, nil, "after is a cursor of another order"),
        (.get, "/v1/requests?status=lost", .dpo, nil, "status must be one of"),
        // Cursors naming instants no timestamp holds (Int64.min, before year 1, year 0, year 10000): 400s, never a trap or a 500.
        (.get, "/v1/reports?after=cmVwb3J0c3wtOTIyMzM3MjAzNjg1NDc3NTgwOHx4", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVwb3J0c3wtMTAwMDAwMDAwMDAwMDAwMDAwfHg", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVwb3J0c3wtNjIxNjcyMTkyMDAwMDAwMDB8eA", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/reports?after=cmVwb3J0c3wyNTM0MDIzMDA4MDAwMDAwMDB8eA", .auditor, nil, "after must be the `next` cursor"),
        (.get, "/v1/requests?after=cmVxdWVzdHN8cmVjZWl2ZWR8LTEwMDAwMDAwMDAwMDAwMDAwMHx4", .dpo, nil, "after must be the `next` cursor"),
        (.post, "/v1/requests", .dpo, "{}", "type is access or erasure"),
        (.post, "/v1/requests", .dpo, #"{"type": "access"}"#, "regime is gdpr or ccpa"),
        (.post, "/v1/requests", .dpo, #"{"type": "access", "regime": "gdpr"}"#, "verified_by"),
        (.post, "/v1/requests", .admin, #"{"type": "access", "regime": "gdpr", "verified_by": "x", "subject": {"name": "A"}}"#, "subject: an object with"),
        (.post, "/v1/requests", .dpo, #"{"type": "access", "regime": "gdpr", "verified_by": "x", "subject": {"phone": 1}}"#, "subject.phone must be a string"),
        (.post, "/v1/requests/q-1/extend", .dpo, "{}", "reason: why the deadline is extended"),
        (.post, "/v1/requests/q-1/close", .dpo, #"{"outcome": "erased"}"#, "outcome is answered, rejected or withdrawn"),
    ]

    @Test("bad query parameters and bodies are 400 problems naming the parameter", arguments: badInputs)
    func badRequest(method: HTTPRequest.Method, uri: String, role: APIRole, body: String?, says: String) async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let response = try await client.send(method, uri, as: role, body: body.map(Self.json))
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.problemKind == "bad-request")
            #expect(response.json?["detail"]?.stringValue?.hasPrefix(says) == true, "\(response.text)")
            #expect(response.json?["instance"]?.stringValue == String(uri.prefix { $0 != "?" }))
            #expect(response.json?["status"]?.numberValue == 400)
            #expect(response.json?["title"]?.stringValue == "Bad Request")
        }
    }

    @Test("a bad request's problem, byte for byte (canonical JSON, problem+json)")
    func problemBytes() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let response = try await client.send(.get, "/v1/seals?limit=0", as: .auditor)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(
                response.text
                    == #"{"detail":"limit must be between 1 and 1000","instance":"/v1/seals","status":400,"title":"Bad Request","type":"https://callaudit.example/problems/bad-request"}"#)
        }
    }

    @Test("an on-demand report longer than the range is its own problem: 92 days by default, or as configured")
    func reportRange() async throws {
        for (configured, days, body) in [
            (nil as Int?, 92, #"{"from":"2020-01-01","to":"2026-01-01"}"#), (7, 7, #"{"from": "2026-01-01", "to": "2026-01-09"}"#),
        ] {
            let harness = try APIHarness { if let configured { $0.reportMaxRangeDays = configured } }
            try await harness.test { client in
                let response = try await client.send(.post, "/v1/reports", as: .auditor, body: Self.json(body))
                #expect(response.status == .badRequest)
                #expect(response.problemKind == "report-range-too-long")
                #expect(response.json?["detail"]?.stringValue?.contains("at most \(days) days") == true, "\(response.text)")
            }
        }
    }

    @Test("no problem names SQL or PostgreSQL, even when PostgreSQL is away")
    func problemsSayNoSQL() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for (uri, role) in [("/v1/reports/x?version=99999999999", APIRole.auditor), ("/v1/seals", .ops), ("/v1/reports", .admin), ("/v1/requests", .dpo)] {
                let text = try await client.send(.get, uri, as: role).text.lowercased()
                #expect(!text.contains("select") && !text.contains("postgres") && !text.contains("libpq") && !text.contains("127.0.0.1"), "\(uri): \(text)")
            }
        }
    }

    @Test("one body limit, 64 KiB: a body over it is 413 on every route that takes one; one at it is read")
    func bodyLimit() async throws {
        #expect(APIContext.maxBodyBytes == 64 * 1024)
        let harness = try APIHarness()
        let over = ByteBuffer(repeating: UInt8(ascii: " "), count: APIContext.maxBodyBytes + 1)
        let far = ByteBuffer(repeating: UInt8(ascii: " "), count: 200_000)
        let at = ByteBuffer(repeating: UInt8(ascii: " "), count: APIContext.maxBodyBytes)
        try await harness.test { client in
            for (uri, role) in [("/v1/reports", APIRole.auditor), ("/v1/requests", .dpo), ("/v1/requests/q-1/extend", .dpo), ("/v1/requests/q-1/close", .admin)] {
                let refused = try await client.send(.post, uri, as: role, body: over)
                #expect(refused.status == .contentTooLarge, "\(uri)")
                #expect(refused.problemKind == "body-too-large", "\(uri)")
                #expect(try await client.send(.post, uri, as: role, body: far).status == .contentTooLarge, "\(uri)")
                // 64 KiB of blanks is read, and refused as not a JSON object: the limit is not below 64 KiB.
                let read = try await client.send(.post, uri, as: role, body: at)
                #expect(read.status == .badRequest, "\(uri): \(read.text)")
            }
            // Without a token the body is never read: 401, not 413.
            #expect(try await client.send(.post, "/v1/reports", body: over).status == .unauthorized)
        }
    }

    @Test("a method a path does not take is 405 with Allow; an unknown path 404")
    func methodsAndPaths() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let wrong = try await client.send(.delete, "/v1/reports", as: .auditor)
            #expect(wrong.status == .methodNotAllowed)
            #expect(wrong.problemKind == "method-not-allowed")
            #expect(wrong.headers[.allow] == "GET, POST")
            #expect(wrong.json?["detail"]?.stringValue == "/v1/reports takes GET, POST")
            let post = try await client.send(.post, "/v1/seals/3", as: .auditor)
            #expect(post.status == .methodNotAllowed && post.headers[.allow] == "GET")
            let unknown = try await client.send(.get, "/v1/nothing", as: .auditor)
            #expect(unknown.status == .notFound)
            #expect(unknown.problemKind == "not-found")
            #expect(unknown.json?["detail"]?.stringValue == "no such resource")
        }
    }

    @Test("tokens: missing, malformed and unknown are 401 problems with the matching WWW-Authenticate")
    func authentication() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let missing = try await client.send(.get, "/v1/keys")
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == "Bearer realm=\"callaudit\"")
            #expect(missing.json?["detail"]?.stringValue == "send a bearer token: Authorization: Bearer <token> (`callaudit tokens create`)")
            for header in ["Basic dXNlcjpwYXNz", "Bearer not-ours", "Bearer"] {
                let malformed = try await client.send(.get, "/v1/keys", authorization: header)
                #expect(malformed.status == .unauthorized, "\(header)")
                #expect(malformed.headers[.wwwAuthenticate] == "Bearer realm=\"callaudit\", error=\"invalid_request\"", "\(header)")
            }
            let unknown = try await client.send(.get, "/v1/keys", authorization: "Bearer \(APIHarness.unknownToken)")
            #expect(unknown.status == .unauthorized)
            #expect(unknown.headers[.wwwAuthenticate] == "Bearer realm=\"callaudit\", error=\"invalid_token\"")
            #expect(unknown.json?["detail"]?.stringValue == "the token is unknown or revoked")
            // Public routes never read the header: a bad one changes nothing.
            #expect(try await client.send(.get, "/healthz", authorization: "Bearer \(APIHarness.unknownToken)").status == .ok)
        }
    }

    @Test("failed authentications past the burst are 429 with Retry-After, without a lookup; valid tokens still work")
    func authenticationThrottle() async throws {
        let harness = try APIHarness {
            $0.authFailureBurst = 2
            $0.authFailuresPerMinute = 1
        }
        try await harness.test { client in
            // Seen valid before the guessing starts: a token valid at its last lookup is never throttled.
            #expect(try await client.send(.get, "/v1/keys", as: .auditor).status == .ok)
            for n in 0..<2 {
                #expect(try await client.send(.get, "/v1/keys", authorization: "Bearer ca_guess-\(n)").status == .unauthorized)
            }
            let throttled = try await client.send(.get, "/v1/keys", authorization: "Bearer ca_guess-2")
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.problemKind == "authentication-throttled")
            #expect(throttled.headers[.retryAfter].flatMap(Int.init).map { $0 >= 1 && $0 <= 60 } == true)
            #expect(try await client.send(.get, "/v1/keys", as: .auditor).status == .ok)
        }
    }

    @Test("a token over its rate is 429 rate-limited with Retry-After; other tokens are not")
    func rateLimit() async throws {
        let harness = try APIHarness {
            $0.rateLimit = 1
            $0.rateBurst = 2
        }
        try await harness.test { client in
            for _ in 0..<2 { #expect(try await client.send(.get, "/v1/keys", as: .auditor).status == .ok) }
            let limited = try await client.send(.get, "/v1/keys", as: .auditor)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.problemKind == "rate-limited")
            #expect(limited.json?["detail"]?.stringValue == "token test-auditor is over its limit of requests; retry after 1 s")
            #expect(limited.headers[.retryAfter] == "1")
            #expect(try await client.send(.get, "/v1/keys", as: .ops).status == .ok)
            // Anonymous requests are not limited.
            for _ in 0..<5 { #expect(try await client.send(.get, "/healthz").status == .ok) }
        }
    }

    @Test("PostgreSQL away: a route past its checks is 503 database-unavailable with Retry-After")
    func databaseAway() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let response = try await client.send(.get, "/v1/seals", as: .auditor)
            #expect(response.status == .serviceUnavailable, "\(response.text)")
            #expect(response.problemKind == "database-unavailable")
            #expect(response.headers[.retryAfter] == "2")
        }
    }
}
