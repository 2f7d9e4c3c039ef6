/// A message as it came off the wire: what the decoder needs, nothing of Kafka's API.
package struct IncomingMessage: Sendable {
    package var headers: [(key: String, value: [UInt8]?)]
    package var value: [UInt8]?
    /// The key's size: it counts toward the message size limit like the rest.
    package var keyBytes: Int
    /// False when some header name was not UTF-8 (its bad bytes replaced in `headers`).
    package var headerNamesAreUTF8: Bool

    package init(headers: [(key: String, value: [UInt8]?)] = [], value: [UInt8]?, keyBytes: Int = 0, headerNamesAreUTF8: Bool = true) {
        self.headers = headers
        self.value = value
        self.keyBytes = keyBytes
        self.headerNamesAreUTF8 = headerNamesAreUTF8
    }

    /// The last header whose name, lower-cased, is `name` (header names are
    /// matched without regard to case, as the reference always has).
    package func header(_ name: String) -> [UInt8]? {
        headers.last { Self.name($0.key, lowercasesTo: name) }?.value
    }

    /// `key.lowercased() == name`, without making a String per header when
    /// both are ASCII (the usual case): then lower-casing is the ASCII fold
    /// and equality is byte equality. Otherwise the String comparison decides,
    /// since `lowercased()` maps some non-ASCII letters to ASCII ones (the
    /// Kelvin sign to `k`).
    static func name(_ key: String, lowercasesTo name: String) -> Bool {
        var (key, name) = (key, name)
        // Over the UTF-8 where it lies (String's byte views iterate slowly).
        let decided = key.withUTF8 { key in name.withUTF8 { name in asciiName(key, lowercasesTo: name) } }
        return decided ?? (key.lowercased() == name)
    }

    /// The answer over bytes when both are ASCII and `name` is lower case; nil when the String comparison must decide.
    private static func asciiName(_ key: UnsafeBufferPointer<UInt8>, lowercasesTo name: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard !key.contains(where: { $0 >= 0x80 }), !name.contains(where: { $0 >= 0x80 || (0x41...0x5A).contains($0) }) else { return nil }
        guard key.count == name.count else { return false }
        for index in 0..<key.count where ((0x41...0x5A).contains(key[index]) ? key[index] | 0x20 : key[index]) != name[index] { return false }
        return true
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
