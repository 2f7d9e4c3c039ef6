import CallAuditDomain
import CallAuditStore
import Crypto
import Foundation

extension SubjectVault {
    /// A dead letter's key, headers and value sealed under a key of its own,
    /// with the blind indexes of every identifier found in it, so erasing a
    /// person shreds the raw messages that named them.
    package func sealDeadLetter(_ letter: DeadLetter) throws -> DeadLetter {
        let payload: JSONValue = [
            "key": letter.key.map { .string(Data($0).base64EncodedString()) } ?? .null,
            "headers": .array(letter.headers.enumerated().map { index, header in
                var members: [(key: String, value: JSONValue)] = [
                    ("key", .string(header.key)), ("value", header.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
                ]
                // A name that was not UTF-8, byte for byte.
                if let raw = letter.rawHeaderNames?[index] { members.append(("key_bytes", .string(Data(raw).base64EncodedString()))) }
                return .object(members)
            }),
            "value": letter.value.map { .string(Data($0).base64EncodedString()) } ?? .null,
        ]
        let dataKey = randomBytes(32)
        let box = try AES.GCM.seal(payload.canonicalBytes, using: SymmetricKey(data: dataKey))
        let (kekID, wrapped) = try keys.wrap(dataKey)
        var sealed = letter
        sealed.key = nil
        sealed.headers = []
        sealed.rawHeaderNames = nil
        sealed.value = nil
        sealed.sealed = SealedMessage(
            payload: Array(box.combined!), wrappedKey: wrapped, kekID: kekID,
            blindIndexes: Set(Self.identifiers(in: letter).map(blindIndex)).sorted { $0.lexicographicallyPrecedes($1) })
        return sealed
    }

    /// The original key, headers and value of a sealed dead letter; nil when it was erased.
    package func openDeadLetter(_ letter: StoredDeadLetter) throws -> StoredDeadLetter? {
        guard let sealed = letter.sealed else { return letter }
        guard let wrapped = sealed.wrappedKey, let kekID = sealed.kekID else { return nil }
        let key = try unwrap(wrapped, kekID: kekID)
        let plain: JSONValue
        do {
            plain = try JSONParser.parse(Array(try AES.GCM.open(try AES.GCM.SealedBox(combined: sealed.payload), using: SymmetricKey(data: key))))
        } catch {
            throw VaultError.corrupt("dead letter \(letter.id) does not open with its key")
        }
        func bytes(_ value: JSONValue?) -> [UInt8]? { value?.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init) }
        var open = letter
        open.key = bytes(plain["key"])
        open.value = bytes(plain["value"])
        open.headers = (plain["headers"]?.arrayValue ?? []).map { (key: $0["key"]?.stringValue ?? "", value: bytes($0["value"])) }
        return open
    }

    /// Identifiers anywhere in a message that parses as JSON (structured or
    /// binary mode): every string member named like a subject's identifier.
    static func identifiers(in letter: DeadLetter) -> [Identifier] {
        guard let value = letter.value, let document = try? JSONParser.parse(value) else { return [] }
        var found: [Identifier] = []
        func walk(_ node: JSONValue, depth: Int) {
            guard depth < 32 else { return }
            switch node {
            case .object(let members):
                for (key, member) in members {
                    if let text = member.stringValue, let identifier = Identifier(kind: key, value: text) { found.append(identifier) }
                    walk(member, depth: depth + 1)
                }
            case .array(let elements):
                for element in elements { walk(element, depth: depth + 1) }
            default:
                break
            }
        }
        walk(document, depth: 0)
        return found
    }
}
