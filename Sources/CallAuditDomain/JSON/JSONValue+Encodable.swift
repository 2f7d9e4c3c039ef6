import Foundation

extension JSONValue {
    /// `value` as a JSON value: the bridge from a `Codable` document to
    /// `canonicalBytes`, so typed documents are signed in RFC 8785 form.
    /// (`JSONEncoder`'s own output is not canonical: member order, number forms.)
    package init(encoding value: some Encodable) throws {
        self = try JSONParser.parse(try JSONEncoder().encode(value))
    }
}
