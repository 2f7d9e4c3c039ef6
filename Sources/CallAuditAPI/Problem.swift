import CallAuditDomain
import CallAuditStore
import Hummingbird
import Logging

/// An RFC 9457 problem: what went wrong, for people and for programs, as
/// `application/problem+json`. It names no personal data and no SQL.
package struct Problem: Error, HTTPResponseError, Sendable {
    package var status: HTTPResponse.Status
    /// A short, stable slug: the `type` URI ends with it.
    package var kind: String
    package var detail: String
    package var headers: HTTPFields = [:]

    package init(_ status: HTTPResponse.Status, _ kind: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers
    }

    package static let typeBase = "https://callaudit.example/problems/"

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: JSONValue = [
            "type": .string(Self.typeBase + kind), "title": .string(status.reasonPhrase), "status": .number(Double(status.code)),
            "detail": .string(detail), "instance": .string(request.uri.path),
        ]
        var headers = headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.canonicalBytes)))
    }

    static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, "bad-request", detail) }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "not-found", detail) }
}

/// Turns every error into a problem: ours as they are, Hummingbird's by their
/// status, PostgreSQL being away or busy into a 503 with `Retry-After`,
/// anything else into a 500. Neither detail says anything of the cause
/// (that goes to the log, with the request id).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as HTTPResponseError {
            if error.status == .notFound, let allowed = Routes.methods(for: request.uri.path), !allowed.contains(request.method) {
                return try Problem(
                    .methodNotAllowed, "method-not-allowed", "\(request.uri.path) takes \(allowed.map(\.rawValue).joined(separator: ", "))",
                    headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")]
                ).response(from: request, context: context)
            }
            return try Self.problem(for: error.status).response(from: request, context: context)
        } catch let error as PostgresError where error.isTransient {
            context.logger.warning("database unavailable", metadata: ["error": "\(error)", "http.route": "\(context.endpointPath ?? request.uri.path)"])
            return try Problem(
                .serviceUnavailable, "database-unavailable", "the database cannot answer now; retry later (request id \(context.id))",
                headers: [.retryAfter: "2"]
            ).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "http.route": "\(context.endpointPath ?? request.uri.path)"])
            return try Problem(.internalServerError, "internal", "the server failed to answer; the failure is logged with request id \(context.id)")
                .response(from: request, context: context)
        }
    }

    static func problem(for status: HTTPResponse.Status) -> Problem {
        switch status {
        case .notFound: Problem(.notFound, "not-found", "no such resource")
        case .methodNotAllowed: Problem(.methodNotAllowed, "method-not-allowed", "this resource does not take that method")
        case .contentTooLarge: Problem(.contentTooLarge, "body-too-large", "the request body is larger than the server accepts")
        case .badRequest: Problem(.badRequest, "bad-request", "the request is malformed")
        case .serviceUnavailable: Problem(.serviceUnavailable, "unavailable", "the service cannot answer now", headers: [.retryAfter: "5"])
        default: Problem(status, "http-\(status.code)", status.reasonPhrase)
        }
    }
}

extension PostgresError {
    /// A failure the same request may not meet later: a lost session, a lock, a timeout, a full disk.
    var isTransient: Bool {
        if case .transient = failureClass { return true }
        return false
    }
}
