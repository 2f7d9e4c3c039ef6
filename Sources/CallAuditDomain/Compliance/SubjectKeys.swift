import Crypto

/// Stable keys for a person's identifiers: SHA-256 of "kind:value", so
/// projections can match a request to calls without keeping the identifiers.
package enum SubjectKeys {
    package static let kinds = ["phone", "email", "customer_id", "employee_id"]

    package static func keys(of subject: JSONValue?) -> [String] {
        guard let subject else { return [] }
        return kinds.compactMap { kind in
            guard var value = subject[kind]?.stringValue, !value.isEmpty else { return nil }
            if kind == "email" { value = value.lowercased() }
            return Array(SHA256.hash(data: Array("\(kind):\(value)".utf8))).hexString
        }
    }
}
