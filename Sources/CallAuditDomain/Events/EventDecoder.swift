/// Turns a Kafka message into a stored-form event, or says why it cannot be one.
///
/// Both CloudEvents Kafka protocol binding modes are read: structured (the
/// value is the JSON event) and binary (`ce_*` headers, the value is `data`).
/// The result is the same event in both modes, so its content hash is too.
package struct EventDecoder: Sendable {
    package var limits: DecodingLimits
    /// Now, for the plausible-time window.
    package var clock: @Sendable () -> Timestamp

    package init(limits: DecodingLimits = DecodingLimits(), clock: @escaping @Sendable () -> Timestamp = { .now }) {
        self.limits = limits
        self.clock = clock
    }

    package func decode(_ message: IncomingMessage) -> Result<DecodedEvent, Rejection> {
        Result { () throws(Rejection) -> DecodedEvent in try decodeThrowing(message) }
    }

    package func decodeThrowing(_ message: IncomingMessage) throws(Rejection) -> DecodedEvent {
        let value = message.value ?? []
        let headerBytes = message.headers.textByteCount
        let size = message.keyBytes + value.count + headerBytes
        guard size <= limits.maximumBytes else {
            throw Rejection(.oversize, "message of \(size) bytes (key, headers and value) exceeds the limit of \(limits.maximumBytes)")
        }
        let document = try isBinaryMode(message) ? binaryDocument(message) : structuredDocument(value)
        let event = try Self.validate(document)
        try limits.checkPlausible(event.time, now: clock())
        return event
    }

    /// Binary mode per the Kafka binding: `ce_specversion` present and the
    /// content type is not a CloudEvents structured media type.
    private func isBinaryMode(_ message: IncomingMessage) -> Bool {
        if let contentType = message.header("content-type"), Self.isCloudEventsType(contentType) { return false }
        return message.header("ce_specversion") != nil
    }

    /// A CloudEvents structured media type, read as text and lowercased: the rule the one-pass
    /// decoder's byte comparison (`OnePassDecoder.hasCloudEventsType`) must answer as.
    static func isCloudEventsType(_ contentType: some Collection<UInt8>) -> Bool {
        String(decoding: contentType, as: UTF8.self).lowercased().hasPrefix("application/cloudevents")
    }

    private func structuredDocument(_ value: [UInt8]) throws(Rejection) -> JSONValue {
        do {
            return try JSONParser.parse(value)
        } catch {
            throw Rejection(.notJSON, error.description)
        }
    }

    /// Duplicate `ce_*` headers are rejected, as duplicate members are in
    /// structured mode: which of two ids is the event's must not be a guess.
    private func binaryDocument(_ message: IncomingMessage) throws(Rejection) -> JSONValue {
        // A repaired name could pass for a ce_ attribute the producer never sent.
        guard message.headerNamesAreUTF8 else { throw Rejection(.notCloudEvent, "a header name is not UTF-8") }
        var members: [(key: String, value: JSONValue)] = []
        var seen: Set<String> = []
        for (key, raw) in message.headers {
            let name = key.lowercased()
            guard name.hasPrefix("ce_") || name == "content-type" else { continue }
            guard seen.insert(name).inserted else { throw Rejection(.notCloudEvent, "header \(Self.quoted(name)) appears more than once") }
            guard name != "content-type", let raw else { continue }
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw Rejection(.notCloudEvent, "header \(Self.quoted(name)) is not UTF-8")
            }
            members.append((key: String(name.dropFirst(3)), value: .string(text)))
        }
        if let contentType = message.header("content-type"), !members.contains(where: { $0.key == "datacontenttype" }) {
            members.append((key: "datacontenttype", value: .string(String(decoding: contentType, as: UTF8.self))))
        }
        do {
            members.append((key: "data", value: try JSONParser.parse(message.value ?? [])))
        } catch {
            throw Rejection(.notJSON, "data: \(error.description)")
        }
        return .object(members)
    }

    /// Checks a structured-form event against the contract.
    package static func validate(_ document: JSONValue) throws(Rejection) -> DecodedEvent {
        guard document.objectValue != nil else {
            throw Rejection(.notCloudEvent, "the event is a JSON \(document.typeName), not an object")
        }
        guard document["specversion"] == .string("1.0") else {
            throw Rejection(.notCloudEvent, "specversion must be \"1.0\"")
        }
        // The columns first: the same derivation verify-store repeats on the stored bytes.
        let columns = try EventColumns(of: document, types: .contract)
        let type = EventType(rawValue: columns.typeName)!
        guard !OwnEventType.isOwn(source: columns.source) else {
            throw Rejection(.notCloudEvent, "source \(OwnEventType.source) is CallAudit's own: producers cannot publish under it")
        }
        for attribute in ["datacontenttype", "dataschema", "subject"] {
            if let value = document[attribute], value.stringValue == nil {
                throw Rejection(.schemaViolation, "\(attribute): expected a string, found \(value.typeName)")
            }
        }
        guard let data = document["data"] else { throw Rejection(.schemaViolation, "data: is required") }
        let shape = EventContract.data(of: type)
        do {
            try shape.validate(data, at: "data")
            try Self.checkContent(document)
        } catch {
            throw Rejection(.schemaViolation, error.description)
        }
        return DecodedEvent(columns: columns, document: document)
    }

    /// What the contract's shapes cannot say, for the whole event: personal
    /// data only inside subject objects (`PersonalData`), and no NUL in any
    /// member name or string (PostgreSQL's text cannot hold one, and
    /// projections store many of them: a party id, an actor id). One pass
    /// that notes nothing on the way; only when it finds something do the
    /// detailed passes run, to name the place.
    static func checkContent(_ document: JSONValue) throws(ContractViolation) {
        guard !isClean(document, insideData: false, depth: 0) else { return }
        try PersonalData.checkConfined(document)
        try refuseNUL(in: document)
    }

    private static func isClean(_ value: JSONValue, insideData: Bool, depth: Int) -> Bool {
        switch value {
        case .string(let text):
            return !text.containsNUL
        case .object(let members):
            for (key, member) in members {
                if key.containsNUL { return false }
                var isSubject = false
                if insideData, case .object = member, key == "subject" { isSubject = true }
                if !isSubject, PersonalData.isPersonalName(key) { return false }
                // A subject's members are sealed whole: only NUL matters in them.
                let enteringData = depth == 0 && key == "data"
                if !isClean(member, insideData: insideData || enteringData, depth: depth + 1) && !(isSubject && noNUL(member)) { return false }
            }
            return true
        case .array(let elements):
            return elements.allSatisfy { isClean($0, insideData: insideData, depth: depth + 1) }
        default:
            return true
        }
    }

    private static func noNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return !text.containsNUL
        case .object(let members): return members.allSatisfy { !$0.key.containsNUL && noNUL($0.value) }
        case .array(let elements): return elements.allSatisfy(noNUL)
        default: return true
        }
    }

    /// Throws when any member name or string in the event holds NUL.
    static func refuseNUL(in document: JSONValue) throws(ContractViolation) {
        var path: [JSONPathStep] = []
        try refuseNUL(in: document, path: &path)
    }

    private static func refuseNUL(in value: JSONValue, path: inout [JSONPathStep]) throws(ContractViolation) {
        switch value {
        case .string(let text) where text.containsNUL:
            throw ContractViolation(path: JSONPathStep.describe(path), problem: "contains a NUL character")
        case .object(let members):
            for (key, member) in members {
                path.append(.key(key))
                defer { path.removeLast() }
                if key.containsNUL { throw ContractViolation(path: JSONPathStep.describe(path), problem: "a member name contains a NUL character") }
                try refuseNUL(in: member, path: &path)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append(.index(index))
                defer { path.removeLast() }
                try refuseNUL(in: element, path: &path)
            }
        default:
            break
        }
    }

    /// A header name as a rejection may quote it: the producer chose it, and a
    /// rejection's detail reaches logs and the dead-letter store, so only the
    /// header of a CloudEvents attribute the contract names is repeated.
    private static func quoted(_ name: String) -> String {
        name.hasPrefix("ce_") && JSONPathStep.contractNames.contains(String(name.dropFirst(3))) ? name : "(a ce_ extension header)"
    }
}
