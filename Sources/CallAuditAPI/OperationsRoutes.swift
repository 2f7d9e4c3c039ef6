import CallAuditDomain
import CallAuditOperations
import CallAuditSigning
import CallAuditStore
import Foundation
import Hummingbird
import Prometheus
import Synchronization

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
    let readiness: Readiness

    init(pool: DatabasePool, operations: OperationsAccess, keyDirectory: URL) {
        self.pool = pool
        self.operations = operations
        readiness = Readiness(pool: pool, board: operations.board, keyDirectory: keyDirectory)
    }

    func register(on groups: RouteGroups) {
        groups.anyone.get("/readyz") { _, context in
            readiness.answer(await readiness.checks(), detailed: context.caller.map { [.ops, .admin].contains($0.role) } ?? false)
        }
        let operators = groups.callers(.ops, .admin)
        operators.get("/v1/status") { _, _ in
            guard let status = operations.board.latest else {
                throw Problem(.serviceUnavailable, "status-unavailable", "the first status sample has not been taken yet; try again in a few seconds",
                              headers: [.retryAfter: "2"])
            }
            guard case .object(var members) = status.json else { return json(status.json) }
            members.append((key: "fresh", value: .bool(operations.board.isFresh())))
            members.append((key: "sample_error", value: operations.board.lastFailure.map { .string($0) } ?? .null))
            return json(.object(members))
        }
        operators.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: operations.registry.emitToBuffer())))
        }
        groups.anyone.get("/ops") { _, _ in StaticFile.response(PackageResources.ops_html, type: "text/html; charset=utf-8") }
        groups.anyone.get("/ops/app.js") { _, _ in StaticFile.response(PackageResources.ops_js, type: "text/javascript; charset=utf-8") }
        groups.anyone.get("/ops/app.css") { _, _ in StaticFile.response(PackageResources.ops_css, type: "text/css; charset=utf-8") }
    }
}

/// Whether the service can work: PostgreSQL answers at the current schema,
/// Kafka answered the last status sample, the signing keys can be read.
///
/// `/readyz` needs no token, so anyone may ask as often as they like: the
/// checks run at most once a second, whoever asks, and concurrent askers
/// share one run. Anonymous callers learn ready or not ready; an `ops` or
/// `admin` token also sees which check failed and why (error texts name
/// hosts and folders, which are nobody else's business).
final class Readiness: Sendable {
    struct Check: Sendable {
        var name: String
        var failure: String?
    }

    private let pool: DatabasePool
    private let board: StatusBoard
    private let keyDirectory: URL
    private let latest = Mutex<(run: Task<[Check], Never>, at: ContinuousClock.Instant)?>(nil)
    private static let reuse: Duration = .seconds(1)

    init(pool: DatabasePool, board: StatusBoard, keyDirectory: URL) {
        self.pool = pool
        self.board = board
        self.keyDirectory = keyDirectory
    }

    func checks() async -> [Check] {
        let run = latest.withLock { latest in
            let now = ContinuousClock.now
            if let latest, latest.at.duration(to: now) < Self.reuse { return latest.run }
            let run = Task { await self.run() }
            latest = (run, now)
            return run
        }
        return await run.value
    }

    private func run() async -> [Check] {
        var checks: [Check] = []
        do {
            try await pool.withConnection { try Migrator(connection: $0, migrations: Migration.bundled()).requireCurrent() }
            checks += [Check(name: "database"), Check(name: "migrations")]
        } catch let error as MigrationError {
            checks += [Check(name: "database"), Check(name: "migrations", failure: error.description)]
        } catch {
            checks += [Check(name: "database", failure: "PostgreSQL cannot be reached or refused the session"),
                       Check(name: "migrations", failure: "not checked: no database")]
        }
        let kafka = board.latest?.kafka
        let kafkaFailure: String? =
            if !board.isFresh() { "no status sample in the last few seconds" }
            else if kafka?.reachable != true { "Kafka did not answer: \(kafka?.error ?? "unknown")" }
            else { nil }
        checks.append(Check(name: "kafka", failure: kafkaFailure))
        checks.append(Check(name: "keys", failure: (try? KeyRing.open(keyDirectory)) == nil ? "the signing key folder cannot be read" : nil))
        return checks
    }

    /// 200 or 503; the checks only when `detailed`.
    func answer(_ checks: [Check], detailed: Bool) -> Response {
        let failed = checks.filter { $0.failure != nil }
        let results: JSONValue = .object(checks.map { (key: $0.name, value: .string($0.failure ?? "ok")) })
        guard !failed.isEmpty else { return json(detailed ? ["status": "ready", "checks": results] : ["status": "ready"]) }
        var body: [(key: String, value: JSONValue)] = [
            ("type", .string(Problem.typeBase + "not-ready")), ("title", "Service Unavailable"), ("status", 503),
            ("detail", .string(detailed ? "not ready: \(failed.map { "\($0.name): \($0.failure!)" }.joined(separator: "; "))" : "not ready")),
            ("instance", "/readyz"),
        ]
        if detailed { body.append(("checks", results)) }
        return Response(
            status: .serviceUnavailable, headers: [.contentType: "application/problem+json", .retryAfter: "5"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(body).canonicalBytes)))
    }
}
