import CallAuditDomain
import CallAuditOperations
import CallAuditSigning
import CallAuditStore
import Foundation
import Hummingbird
import Prometheus

/// What the operations routes read: the status board the sampler fills, the metrics registry.
package struct OperationsAccess: Sendable {
    package var board: StatusBoard
    package var registry: PrometheusCollectorRegistry

    package init(board: StatusBoard, registry: PrometheusCollectorRegistry) {
        self.board = board
        self.registry = registry
    }
}

/// Readiness, status, metrics and the `/ops` dashboard.
struct OperationsRoutes {
    let pool: DatabasePool
    let operations: OperationsAccess
    let keyDirectory: URL

    func register(on router: Router<APIContext>) {
        router.get("/readyz") { _, _ in try await readiness() }
        router.get("/v1/status") { _, context in
            _ = try context.require(.ops, .admin)
            guard let status = operations.board.latest else {
                throw Problem(.serviceUnavailable, "status-unavailable", "the first status sample has not been taken yet; try again in a few seconds",
                              headers: [.retryAfter: "2"])
            }
            guard case .object(var members) = status.json else { return json(status.json) }
            members.append((key: "fresh", value: .bool(operations.board.isFresh())))
            members.append((key: "sample_error", value: operations.board.lastFailure.map { .string($0) } ?? .null))
            return json(.object(members))
        }
        router.get("/metrics") { _, context in
            _ = try context.require(.ops, .admin)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: operations.registry.emitToBuffer())))
        }
        router.get("/ops") { _, _ in page(PackageResources.ops_html, type: "text/html; charset=utf-8") }
        router.get("/ops/app.js") { _, _ in page(PackageResources.ops_js, type: "text/javascript; charset=utf-8") }
        router.get("/ops/app.css") { _, _ in page(PackageResources.ops_css, type: "text/css; charset=utf-8") }
    }

    /// 200 when PostgreSQL answers at the current schema, Kafka answered the
    /// last status sample and the keys can be read; otherwise 503 naming each failed check.
    private func readiness() async throws -> Response {
        var checks: [(name: String, failure: String?)] = []
        do {
            try await pool.withConnection { try Migrator(connection: $0, migrations: Migration.bundled()).requireCurrent() }
            checks += [("database", nil), ("migrations", nil)]
        } catch let error as MigrationError {
            checks += [("database", nil), ("migrations", error.description)]
        } catch {
            checks += [("database", "PostgreSQL cannot be reached or refused the session"), ("migrations", "not checked: no database")]
        }
        let kafka = operations.board.latest?.kafka
        let kafkaFailure: String? =
            if !operations.board.isFresh() { "no status sample in the last few seconds" }
            else if kafka?.reachable != true { "Kafka did not answer: \(kafka?.error ?? "unknown")" }
            else { nil }
        checks.append(("kafka", kafkaFailure))
        checks.append(("keys", (try? KeyRing.open(keyDirectory)) == nil ? "the signing key folder cannot be read" : nil))

        let failed = checks.filter { $0.failure != nil }
        let results: JSONValue = .object(checks.map { (key: $0.name, value: .string($0.failure ?? "ok")) })
        guard !failed.isEmpty else { return json(["status": "ready", "checks": results]) }
        let body: JSONValue = [
            "type": .string(Problem.typeBase + "not-ready"), "title": "Service Unavailable", "status": 503,
            "detail": .string("not ready: \(failed.map { "\($0.name): \($0.failure!)" }.joined(separator: "; "))"),
            "instance": "/readyz", "checks": results,
        ]
        return Response(
            status: .serviceUnavailable, headers: [.contentType: "application/problem+json", .retryAfter: "5"],
            body: .init(byteBuffer: ByteBuffer(bytes: body.canonicalBytes)))
    }

    /// A file of the dashboard, under a policy that lets it load nothing from elsewhere.
    private func page(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                .init("Referrer-Policy")!: "no-referrer", .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
