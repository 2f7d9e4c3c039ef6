import CallAuditDomain
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CallAuditAPI

/// What the API answers without a database: health, readiness, its own
/// document, the dashboard's files, the keys, metrics and status.
@Suite("Formats of the routes that need no database")
struct PublicRoutesTests {
    @Test("/healthz is ok; /v1/openapi.yaml is the embedded document as YAML")
    func healthAndDocument() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let health = try await client.send(.get, "/healthz")
            #expect(health.status == .ok && health.text == #"{"status":"ok"}"#)
            #expect(health.headers[.contentType] == "application/json")
            let document = try await client.send(.get, "/v1/openapi.yaml")
            #expect(document.headers[.contentType] == "application/yaml")
            #expect(Array(buffer: document.body) == PackageResources.openapi_yaml)
        }
    }

    @Test("the dashboard's files: their types, no-store, and a policy that loads nothing from elsewhere")
    func dashboard() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for (path, type) in [("/ops", "text/html; charset=utf-8"), ("/ops/app.js", "text/javascript; charset=utf-8"), ("/ops/app.css", "text/css; charset=utf-8")] {
                let response = try await client.send(.get, path)
                response.expectStaticFile(path, type: type)
            }
        }
    }

    @Test("/readyz without a database: 503 to anyone without the reasons; with them to ops and admin only")
    func readiness() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for role in [nil, APIRole.auditor, .dpo] {
                let response = try await client.send(.get, "/readyz", as: role)
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
                #expect(response.json?["detail"]?.stringValue == "not ready", "\(String(describing: role))")
                #expect(response.json?["checks"] == nil)
            }
            // A token /readyz cannot accept is answered as no token, not refused.
            let unknown = try await client.send(.get, "/readyz", authorization: "Bearer \(APIHarness.unknownToken)")
            #expect(unknown.status == .serviceUnavailable && unknown.json?["detail"]?.stringValue == "not ready")
            for role in [APIRole.ops, .admin] {
                let response = try await client.send(.get, "/readyz", as: role)
                #expect(response.status == .serviceUnavailable)
                #expect(response.json?["checks"]?["database"]?.stringValue == "PostgreSQL cannot be reached or refused the session")
                #expect(response.json?["detail"]?.stringValue?.hasPrefix("not ready: database:") == true)
            }
        }
    }

    @Test("/readyz answers a malformed, unknown or revoked token as it answers no token, and counts no failed authentication")
    func readinessIgnoresBadTokens() async throws {
        let harness = try APIHarness()
        let revoked = "ca_probe-old"
        let tokens = harness.tokens
        tokens.add(revoked, name: "probe-old", role: .ops)
        try await harness.test { client in
            #expect(try await client.send(.get, "/readyz", authorization: "Bearer \(revoked)").json?["checks"] != nil, "valid: the details")
            tokens.revoke(revoked)
            // The token cache remembers a valid token for 2 s: the answer changes once it forgets.
            var forgotten = false
            for _ in 0..<100 where !forgotten {
                forgotten = try await client.send(.get, "/readyz", authorization: "Bearer \(revoked)").json?["checks"] == nil
                if !forgotten { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(forgotten, "revoked: once the cache forgets it")
            for n in 0..<30 {
                for authorization in ["Bearer \(revoked)", "Bearer ca_unknown-\(n)", "Basic \(n)"] {
                    let reply = try await client.send(.get, "/readyz", authorization: authorization)
                    #expect(reply.status == .serviceUnavailable && reply.json?["detail"]?.stringValue == "not ready" && reply.json?["checks"] == nil,
                            "\(authorization): \(reply.status) \(reply.text)")
                }
            }
            #expect(try await client.send(.get, "/v1/keys", as: .auditor).status == .ok, "a token never seen valid: the address has its whole allowance")
            #expect(try await client.send(.get, "/v1/keys", authorization: "Bearer ca_unknown").status == .unauthorized, "not 429")
            #expect(try await client.send(.get, "/readyz", as: .admin).json?["checks"] != nil, "a valid admin token still sees the checks")
        }
    }

    @Test("/v1/keys lists the signing keys to every role")
    func keys() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for role in APIRole.allCases {
                let response = try await client.send(.get, "/v1/keys", as: role)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.json?["keys"]?.arrayValue?.count == 1, "\(response.text)")
            }
        }
    }

    @Test("/metrics is Prometheus text; /v1/status says when there is no sample yet")
    func operations() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let metrics = try await client.send(.get, "/metrics", as: .ops)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let status = try await client.send(.get, "/v1/status", as: .admin)
            #expect(status.status == .serviceUnavailable)
            #expect(status.problemKind == "status-unavailable")
            #expect(status.headers[.retryAfter] == "2")
        }
    }
}
