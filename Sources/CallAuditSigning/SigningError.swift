/// Why signing or verifying failed. Never carries key material.
package enum SigningError: Error, Equatable, CustomStringConvertible {
    case malformedKey(String)
    case malformedSignature(String)
    case unknownKey(String)
    case badSignature(keyID: String)
    case keyFolder(String)
    /// A document of another kind (`found`: what it is, "a seal") where `expected` was wanted.
    case wrongKind(expected: DocumentKind, found: String)
    /// A document that names no kind, where `expected` was wanted.
    case unnamedKind(expected: DocumentKind)

    package var description: String {
        switch self {
        case .malformedKey(let why): "malformed key: \(why)"
        case .malformedSignature(let why): "malformed signature: \(why)"
        case .unknownKey(let keyID): "no public key with id \(keyID)"
        case .badSignature(let keyID): "the signature does not match the content (key \(keyID)): the file was changed or signed by another key"
        case .keyFolder(let why): "key folder: \(why)"
        case .wrongKind(let expected, let found):
            "the document is \(found), not \(expected.withArticle): its signature vouches for it only as what it says it is"
        case .unnamedKind(let expected):
            "the document does not say what it is (no top-level \"\(DocumentKind.member)\": \"\(expected.rawValue)\"), so it is not taken for \(expected.withArticle)"
        }
    }
}
