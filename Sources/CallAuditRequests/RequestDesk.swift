import CallAuditDomain
import CallAuditProjections
import CallAuditStore
import CallAuditVault
import Foundation

/// Who acts on a request, as the request's events record it.
package struct RequestActor: Sendable {
    package var name: String
    package var role: String
    /// `api` or `cli`.
    package var channel: String

    package init(name: String, role: String, channel: String) {
        self.name = name
        self.role = role
        self.channel = channel
    }

    var document: JSONValue { ["name": .string(name), "role": .string(role)] }
}

/// A request that cannot be acted on as asked.
package enum RequestError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    /// The input is wrong (an identifier that does not parse, none given, an unknown regime).
    case invalid(String)
    /// The request's state does not allow it (already closed, already extended, not an erasure).
    case conflict(String)

    package var description: String {
        switch self {
        case .notFound(let id): "no subject request \(id)"
        case .invalid(let problem), .conflict(let problem): problem
        }
    }
}

/// The DPO's desk: opens, extends, closes and erases requests. Each command
/// reads the request's stream and appends to it in one transaction, under a
/// lock on the stream, so two DPOs acting at once cannot both extend a request
/// or erase a person twice.
package struct RequestDesk {
    package let connection: PostgresConnection
    package let vault: SubjectVault
    package let policy: Policy

    package init(connection: PostgresConnection, vault: SubjectVault, policy: Policy) {
        self.connection = connection
        self.vault = vault
        self.policy = policy
    }

    static func stream(_ id: String) -> String { EventLog.requestStreamPrefix + id }

    // MARK: Reading

    /// One request, folded from its stream.
    package func request(_ id: String) throws -> SubjectRequest? { SubjectRequest.fold(try documents(id)) }

    /// The events of a request's stream, in log order: what `request` folds and `RequestHistory` lists.
    package func documents(_ id: String) throws -> [JSONValue] {
        try EventLog(connection: connection).requestDocuments(inStream: Self.stream(id)).map { try JSONParser.parse(Array($0.utf8)) }
    }

    /// Every request, newest receipt first; `status` filters. Read from the
    /// `subject_requests` projection, which lags the log by a poll of the
    /// projection runner: a request just opened is listed once it has caught up.
    package func list(status: SubjectRequest.Status? = nil) throws -> [SubjectRequestSummary] {
        try SubjectRequestTable(connection: connection).list(status: status)
    }

    /// How many events of the log the list has not read yet: 0 when it is
    /// current. Only a running service (`serve`) moves it on.
    package func eventsNotYetListed() throws -> Int {
        let cursor = try ProjectionCheckpoints(connection: connection).cursor(of: SubjectRequestProjection().name)
        return try EventLog(connection: connection).count(after: cursor)
    }

    /// The identifiers a request was opened with; nil once its person was erased.
    package func identifiers(of request: SubjectRequest) throws -> JSONValue? {
        guard let opened = try vault.openSubject(request.subject, on: connection) else { return nil }
        return .object(Identifier.kinds.compactMap { kind in opened[kind].map { (key: kind, value: $0) } })
    }

    /// The persons a request is about: those it named when opened, and those its identifiers name now.
    package func subjects(of request: SubjectRequest) throws -> [String] {
        let identifiers = try self.identifiers(of: request).map(Identifier.all(in:)) ?? []
        let erased = (request.erasure?["subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
        return Array(Set(request.subjectRefs + erased + (try vault.find(identifiers, on: connection).refs))).sorted()
    }

    /// The persons an export or an erasure may act on: `subjects(of:)`, unless
    /// every identifier the request names is shared by several persons (a
    /// platform's request by a switchboard number), so that it names nobody.
    func answerableSubjects(of request: SubjectRequest) throws -> [String] {
        let identifiers = try self.identifiers(of: request).map(Identifier.all(in:)) ?? []
        let found = try vault.find(identifiers, on: connection)
        if found.refs.isEmpty, let kind = found.shared.first {
            throw RequestError.conflict(
                "request \(request.id): its \(kind) is shared by several persons in the store, so it names none of them; answer it with a request that names the person's customer_id or employee_id")
        }
        return try subjects(of: request)
    }

    /// The request as the DPO sees it: state, deadline, the person's identifiers
    /// while they exist, and for an erasure whether each recording was deleted.
    package func view(_ request: SubjectRequest, now: Timestamp = .now) throws -> JSONValue {
        var recordings: [JSONValue]? = nil
        if request.kind == .erasure {
            let records = try SubjectRecords.load(try subjects(of: request), from: connection)
            let held = Set((request.erasure?["held_back"]?.arrayValue ?? []).compactMap { $0["recording_id"]?.stringValue?.exactKey })
            recordings = records.recordings.sorted { $0.key < $1.key }.map { id, recording in
                object([
                    "recording_id": .string(recording.recordingID),
                    "deleted_at": recording.deleted.map { .string($0.time.rfc3339) },
                    "held_back": .bool(held.contains(id)),
                ])
            }
        }
        let identifiers = try identifiers(of: request)
        let shared = try identifiers.map { try vault.find(Identifier.all(in: $0), on: connection).shared } ?? []
        return RequestView.detail(request, identifiers: identifiers, shared: shared, recordings: recordings, policy: policy, now: now)
    }

    // MARK: Commands

    /// Opens a request for the person these identifiers name. Every identifier
    /// given is normalised and checked; the person's other spellings need no mention.
    package func open(
        kind: SubjectRequestFacts.Kind, regime: String, identifiers: SubjectIdentifiers, verifiedBy: String, by actor: RequestActor,
        at time: Timestamp = .now
    ) throws -> SubjectRequest {
        guard policy.subjectRequests[regime] != nil else {
            throw RequestError.invalid("regime \(regime): the policy knows \(policy.subjectRequests.keys.sorted().joined(separator: ", "))")
        }
        let trimmedVerification = Identifier.trimmed(verifiedBy)
        guard !trimmedVerification.isEmpty else { throw RequestError.invalid("say how the person's identity was verified (verified_by)") }
        let normalised = try identifiers.normalised()
        let id = EventContract.ownRequestPrefix + String(OwnEventType.newID().prefix(16))
        return try transaction {
            var data: [(key: String, value: JSONValue)] = [
                ("request_id", .string(id)), ("kind", .string(kind.rawValue)), ("regime", .string(regime)),
                ("subject", .object(normalised.map { (key: $0.kind, value: .string($0.value)) })),
            ]
            let known = try vault.find(normalised, on: connection)
            // Well-formed, but what the store holds makes it ambiguous: a conflict, not bad input.
            if known.refs.isEmpty, let kind = known.shared.first {
                throw RequestError.conflict(
                    "\(kind) is shared by several persons in the store, so it cannot say which one this is: add the person's customer_id or employee_id")
            }
            if known.refs.count > 1 { data.append(("subject_refs", .array(known.refs.map(JSONValue.string)))) }
            data += [("verified_by", .string(trimmedVerification)), ("opened_by", actor.document), ("channel", .string(actor.channel))]
            try append(.requestOpened, .object(data), at: time)
            return try opened(id)
        }
    }

    /// Extends the deadline, once, while it has not passed (GDPR Art. 12(3): the person is told within the first period).
    package func extend(_ id: String, reason: String, by actor: RequestActor, at time: Timestamp = .now) throws -> SubjectRequest {
        let reason = Identifier.trimmed(reason)
        guard !reason.isEmpty else { throw RequestError.invalid("an extension needs its reason (--reason)") }
        return try locked(id) { request in
            guard request.isOpen else { throw RequestError.conflict("request \(id) is \(request.status.rawValue): it cannot be extended") }
            guard request.extension_ == nil else { throw RequestError.conflict("request \(id) was already extended; the law allows one extension") }
            if let due = request.deadline(policy: policy), time > due {
                throw RequestError.conflict("request \(id) was due \(due.rfc3339): an extension must be made before the deadline")
            }
            try append(.requestExtended, ["request_id": .string(id), "reason": .string(reason), "by": actor.document], at: time)
        }
    }

    /// Closes a request: answered (the export delivered, the erasure done), rejected or withdrawn.
    package func close(_ id: String, outcome: SubjectRequest.Status, by actor: RequestActor, at time: Timestamp = .now) throws -> SubjectRequest {
        guard [.answered, .rejected, .withdrawn].contains(outcome) else {
            throw RequestError.invalid("a request closes as answered, rejected or withdrawn; an erasure is done with erase")
        }
        return try locked(id) { request in
            guard request.isOpen else { throw RequestError.conflict("request \(id) is already \(request.status.rawValue)") }
            try append(.requestClosed, ["request_id": .string(id), "outcome": .string(outcome.rawValue), "by": actor.document], at: time)
        }
    }

    /// Appends an own event for a request: personal data in it sealed like any other.
    func append(_ type: OwnEventType, _ data: JSONValue, at time: Timestamp) throws {
        let event: DecodedEvent
        do { event = try type.event(data: data, at: time) } catch { throw RequestError.invalid(error.detail) }
        let sealed = try vault.seal([IncomingEvent(event: event, origin: nil)], on: connection)
        try EventStore(connection: connection).appendWithinTransaction(sealed)
    }

    /// A transaction whose persons, should it roll back, the vault forgets it cached.
    private func transaction<T>(_ body: () throws -> T) throws -> T {
        do {
            return try connection.transaction(body)
        } catch {
            vault.forgetCachedPersons()
            throw error
        }
    }

    /// The request just written in this transaction; not finding it means the stream is not a request's.
    private func opened(_ id: String) throws -> SubjectRequest {
        guard let request = try request(id) else { throw RequestError.notFound(id) }
        return request
    }

    /// Runs `body` on the request under a lock on its stream, in a transaction; the request as it then stands.
    func locked(_ id: String, _ body: (SubjectRequest) throws -> Void) throws -> SubjectRequest {
        try transaction {
            try connection.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))", [.text(Self.stream(id))])
            guard let request = try request(id) else { throw RequestError.notFound(id) }
            try body(request)
            return try opened(id)
        }
    }
}

/// The identifiers a DPO enters, as typed.
package struct SubjectIdentifiers: Sendable, Equatable {
    package var phone: String?
    package var email: String?
    package var customerID: String?
    package var employeeID: String?

    package init(phone: String? = nil, email: String? = nil, customerID: String? = nil, employeeID: String? = nil) {
        self.phone = phone
        self.email = email
        self.customerID = customerID
        self.employeeID = employeeID
    }

    /// Each given identifier in its matching form; at least one is required.
    package func normalised() throws(RequestError) -> [Identifier] {
        var result: [Identifier] = []
        for (kind, value) in [("phone", phone), ("email", email), ("customer_id", customerID), ("employee_id", employeeID)] {
            guard let value else { continue }
            guard let identifier = Identifier(kind: kind, value: value), identifier.isWellFormed else {
                throw .invalid(kind == "phone"
                    ? "phone: not a phone number in international form (+, country code, number; spaces, dashes and brackets are fine)"
                    : "\(kind): not a valid \(kind.replacingOccurrences(of: "_", with: " "))")
            }
            result.append(identifier)
        }
        guard !result.isEmpty else { throw .invalid("name the person by at least one of phone, email, customer_id, employee_id") }
        return result
    }
}
