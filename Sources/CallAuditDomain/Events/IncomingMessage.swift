/// A message as it came off the wire: what the decoder needs, nothing of Kafka's API.
package struct IncomingMessage: Sendable {
    package var headers: MessageHeaders
    package var value: [UInt8]?
    /// The key's size: it counts toward the message size limit like the rest.
    package var keyBytes: Int
    /// False when some header name was not UTF-8 (its bad bytes replaced in the names read as text).
    package var headerNamesAreUTF8: Bool

    /// The headers as the consumer holds them: whether their names are UTF-8 is theirs to say.
    package init(headers: MessageHeaders, value: [UInt8]?, keyBytes: Int = 0) {
        self.headers = headers
        self.value = value
        self.keyBytes = keyBytes
        self.headerNamesAreUTF8 = headers.namesAreUTF8
    }

    package init(headers: [(key: String, value: [UInt8]?)] = [], value: [UInt8]?, keyBytes: Int = 0, headerNamesAreUTF8: Bool = true) {
        self.headers = MessageHeaders(headers)
        self.value = value
        self.keyBytes = keyBytes
        self.headerNamesAreUTF8 = headerNamesAreUTF8
    }

    /// The last header whose name, lowercased, is `name`.
    package func header(_ name: String) -> [UInt8]? {
        headers.lastValue(lowercasedName: name).map { Array(headers.bytes[$0]) }
    }

    /// Whether `header(name)` is not nil, without copying the value.
    package func hasHeaderValue(_ name: String) -> Bool {
        headers.lastValue(lowercasedName: name) != nil
    }

    /// `key.lowercased() == name`. Both ASCII (the usual case), compared byte by
    /// byte: `lowercased()` made a String per header per lookup, three lookups
    /// per message. Anything else goes through `lowercased()` and String
    /// equality, which map some non-ASCII letters to ASCII (the Kelvin sign to `k`).
    static func lowercased(_ key: String, equals name: String) -> Bool {
        var (key, name) = (key, name)
        return key.withUTF8 { key in name.withUTF8 { MessageHeaders.lowercased(key, equals: $0) } }
    }
}

/// Why a message was dead-lettered. The raw values are stable: operators filter on them.
package enum RejectionReason: String, Sendable, CaseIterable, Codable {
    case notJSON = "not_json"
    case notCloudEvent = "not_cloudevent"
    case unknownType = "unknown_type"
    case schemaViolation = "schema_violation"
    case oversize
    case badTime = "bad_time"
    /// Valid by the contract, but PostgreSQL refused to store it.
    case storeRejected = "store_rejected"
}

/// A message that is not an acceptable event, and why. The detail names
/// attributes and paths only, never values, so it is safe to log.
package struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: RejectionReason
    package var detail: String

    package init(_ reason: RejectionReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    package var description: String { "\(reason.rawValue): \(detail)" }
}
