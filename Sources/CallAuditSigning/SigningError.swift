/// Why signing or verifying failed. Never carries key material.
package enum SigningError: Error, Equatable, CustomStringConvertible {
    case malformedKey(String)
    case malformedSignature(String)
    case unknownKey(String)
    case badSignature(keyID: String)
    case keyFolder(String)

    package var description: String {
        switch self {
        case .malformedKey(let why): "malformed key: \(why)"
        case .malformedSignature(let why): "malformed signature: \(why)"
        case .unknownKey(let keyID): "no public key with id \(keyID)"
        case .badSignature(let keyID): "the signature does not match the content (key \(keyID)): the file was changed or signed by another key"
        case .keyFolder(let why): "key folder: \(why)"
        }
    }
}
