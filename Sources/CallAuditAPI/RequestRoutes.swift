import CallAuditDomain
import CallAuditRequests
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Foundation
import Hummingbird
import Synchronization

/// `/v1/requests`: the DPO's data-subject requests. Open, list, show, extend,
/// close; the access export as a signed ZIP; erasure. Every change is an
/// event in the request's stream, made by `RequestDesk` as the CLI makes it.
struct RequestRoutes {
    let pool: DatabasePool
    let vaults: VaultAccess
    let policy: Policy
    let keyDirectory: URL

    func register(on groups: RouteGroups) {
        let officers = groups.callers(.dpo, .admin)
        officers.get("/v1/requests") { request, _ in try await list(request) }
        officers.post("/v1/requests") { request, context in try await open(request, context) }
        officers.get("/v1/requests/{id}") { _, context in try await show(context) }
        officers.post("/v1/requests/{id}/extend") { request, context in try await extend(request, context) }
        officers.post("/v1/requests/{id}/close") { request, context in try await close(request, context) }
        officers.get("/v1/requests/{id}/export") { _, context in try await export(context) }
        officers.post("/v1/requests/{id}/erase") { _, context in try await erase(context) }
    }

    /// A page of the list: `order` (received, or deadline), `status`, `limit` and the `after` cursor.
    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let status = try query["status"].map { text in
            guard let status = SubjectRequest.Status(rawValue: String(text)) else {
                throw Problem.badRequest("status must be one of \(SubjectRequest.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        let order = try query["order"].map { text in
            guard let order = RequestOrder(rawValue: String(text)) else {
                throw Problem.badRequest("order must be one of \(RequestOrder.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return order
        } ?? .received
        let after = try query["after"].map { try Self.position(String($0), order: order) }
        // Without `limit`, the largest page, as for reports: each page's cost stays bounded however many requests
        // producers open; `next` says when there are more.
        let limit = try pageLimit(request) ?? 500
        let now = Timestamp.now
        let listed = try await desk { try $0.page(order: order, status: status, after: after, limit: limit) }
        let next = listed.next.map { PageCursor(tag: "requests", fields: [$0.phase.rawValue, String($0.microseconds), $0.requestID]).encoded }
        return page(
            ["requests": .array(listed.requests.map { RequestView.summary($0, policy: policy, now: now) }), "next": next.map(JSONValue.string) ?? .null],
            next: next, request: request)
    }

    /// The `after` cursor of the request list, which must belong to the order asked for.
    private static func position(_ text: String, order: RequestOrder) throws -> RequestPageKey {
        let cursor = try PageCursor.decode(text, tag: "requests", count: 3)
        guard let phase = RequestPageKey.Phase(rawValue: cursor.fields[0]) else {
            throw Problem.badRequest("after must be the `next` cursor of an earlier page of this list, unchanged")
        }
        let key = RequestPageKey(phase: phase, microseconds: try cursor.microseconds(1), requestID: try cursor.identifier(2))
        guard key.belongs(to: order) else { throw Problem.badRequest("after is a cursor of another order: keep the order of the page it came from") }
        return key
    }

    private func open(_ request: Request, _ context: CallerContext) async throws -> Response {
        let body = try await document(request, context)
        guard let type = body["type"]?.stringValue, let kind = SubjectRequestFacts.Kind(rawValue: type) else {
            throw Problem.badRequest("type is access or erasure")
        }
        guard let regime = body["regime"]?.stringValue else { throw Problem.badRequest("regime is gdpr or ccpa") }
        guard let verifiedBy = body["verified_by"]?.stringValue else { throw Problem.badRequest("verified_by: how the person's identity was verified") }
        guard let subject = body["subject"], let members = subject.objectValue,
            members.allSatisfy({ Identifier.kinds.contains($0.key) })
        else {
            throw Problem.badRequest("subject: an object with phone, email, customer_id and/or employee_id, and nothing else")
        }
        let identifiers = SubjectIdentifiers(
            phone: try string(subject, "phone"), email: try string(subject, "email"), customerID: try string(subject, "customer_id"),
            employeeID: try string(subject, "employee_id"))
        let actor = Self.actor(context)
        let view = try await desk { desk in
            try Self.detail(try desk.open(kind: kind, regime: regime, identifiers: identifiers, verifiedBy: verifiedBy, by: actor).id, on: desk)
        }
        var response = json(view, status: .created)
        response.headers[.location] = "/v1/requests/\(view["request_id"]?.stringValue ?? "")"
        return response
    }

    /// The request in full, with its history: what happened, oldest first, without personal data.
    private func show(_ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        return json(try await desk { desk in try Self.detail(id, on: desk) })
    }

    /// The request as the DPO sees it, with its history (`RequestHistory`): what every answer about one request shows.
    private static func detail(_ id: String, on desk: RequestDesk) throws -> JSONValue {
        let documents = try desk.documents(id)
        guard let request = SubjectRequest.fold(documents), case .object(var members) = try desk.view(request) else {
            throw RequestError.notFound(id)
        }
        members.append((key: "history", value: .array(RequestHistory.entries(documents))))
        return .object(members.sorted { $0.key < $1.key })
    }

    private func extend(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let reason = try await document(request, context)["reason"]?.stringValue else {
            throw Problem.badRequest("reason: why the deadline is extended")
        }
        let actor = Self.actor(context)
        return json(try await desk { desk in try Self.detail(try desk.extend(id, reason: reason, by: actor).id, on: desk) })
    }

    private func close(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await document(request, context, allowEmpty: true)
        let text = body["outcome"] == nil ? "answered" : body["outcome"]?.stringValue ?? ""
        guard let outcome = SubjectRequest.Status(rawValue: text), outcome != .open, outcome != .erased else {
            throw Problem.badRequest("outcome is answered, rejected or withdrawn")
        }
        let actor = Self.actor(context)
        return json(try await desk { desk in try Self.detail(try desk.close(id, outcome: outcome, by: actor).id, on: desk) })
    }

    /// The ZIP is made in memory and handed over; nothing about the person is written to this machine's disk.
    private func export(_ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let signingKey = try KeyRing.open(keyDirectory).current
        let actor = Self.actor(context)
        let zip = try await desk { desk in try desk.export(id, signingKey: signingKey, by: actor).zip() }
        var headers: HTTPFields = [.contentType: "application/zip", .cacheControl: "no-store"]
        headers[.contentDisposition] = "attachment; filename=\"\(id)-export.zip\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: zip)))
    }

    private func erase(_ context: CallerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let actor = Self.actor(context)
        return json(try await desk { desk in
            let report = try desk.erase(id, by: actor)
            return [
                "request": try Self.detail(report.request.id, on: desk),
                "persons": .number(Double(report.outcome.subjects)),
                "index_entries": .number(Double(report.outcome.indexEntries)),
                "dead_letters": .number(Double(report.outcome.deadLetters)),
                "export_files_deleted": .number(Double(report.removedFiles.count)),
                "held_back": .array(report.heldBack.map { held in
                    ["recording_id": .string(held.recordingID), "hold_ids": .array(held.holdIDs.map(JSONValue.string)), "reason": .string(held.reason)]
                }),
                "recordings_to_delete": .array(report.recordingsToDelete.map(JSONValue.string)),
            ]
        })
    }

    /// Runs `body` with a desk on a pooled session; request errors become problems.
    private func desk<T: Sendable>(_ body: @escaping @Sendable (RequestDesk) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection { connection in
                try body(RequestDesk(connection: connection, vault: try vaults.vault(on: connection), policy: policy))
            }
        } catch let error as RequestError {
            switch error {
            case .notFound: throw Problem.notFound(error.description)
            case .invalid: throw Problem(.unprocessableContent, "invalid-request", error.description)
            case .conflict: throw Problem(.conflict, "conflict", error.description)
            }
        }
    }

    /// Who the request's events name as acting: the token's name and role, through the API.
    private static func actor(_ context: CallerContext) -> RequestActor {
        RequestActor(name: context.caller.name, role: context.caller.role.rawValue, channel: "api")
    }

    private func document(_ request: Request, _ context: CallerContext, allowEmpty: Bool = false) async throws -> JSONValue {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        if allowEmpty && body.readableBytes == 0 { return .object([]) }
        guard let document = try? JSONParser.parse(Array(buffer: body)), document.objectValue != nil else {
            throw Problem.badRequest("send a JSON object")
        }
        return document
    }

    private func string(_ object: JSONValue, _ key: String) throws -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value.stringValue else { throw Problem.badRequest("subject.\(key) must be a string") }
        return text
    }
}

/// The vault, opened on first use with whichever pooled session asks first
/// (it reads the blind-index key once).
package final class VaultAccess: Sendable {
    private let keys: KeyEncryptionKeys
    private let reload: SubjectVault.KeySource?
    private let opened = Mutex<SubjectVault?>(nil)

    package init(keys: KeyEncryptionKeys, reload: SubjectVault.KeySource?) {
        self.keys = keys
        self.reload = reload
    }

    func vault(on connection: PostgresConnection) throws -> SubjectVault {
        if let vault = opened.withLock({ $0 }) { return vault }
        let vault = try SubjectVault.open(keys: keys, reload: reload, on: connection)
        opened.withLock { $0 = $0 ?? vault }
        return opened.withLock { $0! }
    }
}
