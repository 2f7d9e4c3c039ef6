/// Turns a Kafka message into a stored-form event, or says why it cannot be one.
///
/// Both CloudEvents Kafka protocol binding modes are read: structured (the
/// value is the JSON event) and binary (`ce_*` headers, the value is `data`).
/// The result is the same event in both modes, so its content hash is too.
public struct EventDecoder: Sendable {
    /// Messages larger than this are dead-lettered as `oversize` without being parsed.
    public var maximumBytes: Int

    public init(maximumBytes: Int = 1 << 20) {
        self.maximumBytes = maximumBytes
    }

    public func decode(_ message: IncomingMessage) -> Result<DecodedEvent, Rejection> {
        Result { () throws(Rejection) -> DecodedEvent in try decodeThrowing(message) }
    }

    public func decodeThrowing(_ message: IncomingMessage) throws(Rejection) -> DecodedEvent {
        let value = message.value ?? []
        let headerBytes = message.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        guard value.count + headerBytes <= maximumBytes else {
            throw Rejection(.oversize, "message of \(value.count + headerBytes) bytes exceeds the limit of \(maximumBytes)")
        }
        let document = try isBinaryMode(message) ? binaryDocument(message) : structuredDocument(value)
        return try Self.validate(document)
    }

    /// Binary mode per the Kafka binding: `ce_specversion` present and the
    /// content type is not a CloudEvents structured media type.
    private func isBinaryMode(_ message: IncomingMessage) -> Bool {
        if let contentType = message.header("content-type"),
            String(decoding: contentType, as: UTF8.self).lowercased().hasPrefix("application/cloudevents")
        {
            return false
        }
        return message.header("ce_specversion") != nil
    }

    private func structuredDocument(_ value: [UInt8]) throws(Rejection) -> JSONValue {
        do {
            return try JSONParser.parse(value)
        } catch {
            throw Rejection(.notJSON, error.description)
        }
    }

    private func binaryDocument(_ message: IncomingMessage) throws(Rejection) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        for (key, raw) in message.headers {
            let name = key.lowercased()
            guard name.hasPrefix("ce_"), let raw else { continue }
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw Rejection(.notCloudEvent, "header \(name) is not UTF-8")
            }
            let attribute = String(name.dropFirst(3))
            members.removeAll { $0.key == attribute }
            members.append((key: attribute, value: .string(text)))
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
    public static func validate(_ document: JSONValue) throws(Rejection) -> DecodedEvent {
        guard document.objectValue != nil else {
            throw Rejection(.notCloudEvent, "the event is a JSON \(document.typeName), not an object")
        }
        guard document["specversion"] == .string("1.0") else {
            throw Rejection(.notCloudEvent, "specversion must be \"1.0\"")
        }
        let id = try requiredAttribute("id", in: document)
        let source = try requiredAttribute("source", in: document)
        let typeName = try requiredAttribute("type", in: document)
        guard let type = EventType(rawValue: typeName) else {
            throw Rejection(.unknownType, "type is not one of the \(EventType.allCases.count) contract types")
        }
        guard let timeValue = document["time"] else { throw Rejection(.notCloudEvent, "time is required") }
        guard let timeText = timeValue.stringValue, let time = Timestamp(rfc3339: timeText) else {
            throw Rejection(.badTime, "time is not an RFC 3339 date-time")
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
        } catch {
            throw Rejection(.schemaViolation, error.description)
        }
        let (category, idField) = type.streamCategory
        let streamID = data[idField]?.stringValue ?? ""
        return DecodedEvent(
            source: source, id: id, type: type, time: time, stream: "\(category)-\(streamID)", document: document)
    }

    private static func requiredAttribute(_ name: String, in document: JSONValue) throws(Rejection) -> String {
        guard let value = document[name] else { throw Rejection(.notCloudEvent, "\(name) is required") }
        guard let text = value.stringValue, !text.isEmpty else {
            throw Rejection(.notCloudEvent, "\(name) must be a non-empty string")
        }
        return text
    }
}
