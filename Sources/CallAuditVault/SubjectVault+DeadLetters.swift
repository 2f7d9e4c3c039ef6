import CallAuditDomain
import CallAuditStore
import Crypto
import Foundation

extension SubjectVault {
    /// The letters not sealed yet sealed (`sealDeadLetter`), under the KEK the
    /// vault wraps with now (`followKEKRotation`), not the one it last looked up.
    package func sealDeadLetters(_ letters: [DeadLetter], on connection: PostgresConnection) throws -> [DeadLetter] {
        guard letters.contains(where: { $0.sealed == nil }) else { return letters }
        try followKEKRotation(on: connection)
        return try letters.map { $0.sealed == nil ? try sealDeadLetter($0) : $0 }
    }

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

    /// Identifiers anywhere in a message, so that erasing a person shreds the
    /// raw messages that named them: every string member named like a
    /// subject's identifier when the value parses as JSON (structured or
    /// binary mode); and, parsed or not, in the value, the key and every header
    /// value, text shaped like a `"phone"`/`"email"`/`"customer_id"`/
    /// `"employee_id"` member, or like an e-mail address or an international
    /// phone number on its own.
    static func identifiers(in letter: DeadLetter) -> [Identifier] {
        var found: [Identifier] = []
        if let value = letter.value, let document = try? JSONParser.parse(value) { walk(document, depth: 0, into: &found) }
        for bytes in [letter.value, letter.key].compactMap({ $0 }) + letter.headers.compactMap(\.value) {
            found += identifiers(inText: bytes)
        }
        return found
    }

    private static func walk(_ node: JSONValue, depth: Int, into found: inout [Identifier]) {
        guard depth < 256 else { return }
        switch node {
        case .object(let members):
            for (key, member) in members {
                if let text = member.stringValue, let identifier = Identifier(kind: key, value: text) { found.append(identifier) }
                walk(member, depth: depth + 1, into: &found)
            }
        case .array(let elements):
            for element in elements { walk(element, depth: depth + 1, into: &found) }
        default:
            break
        }
    }

    /// What looks like an identifier in bytes that may not parse: a member
    /// written as JSON would write it (`"phone": "…"`), a word with an `@`
    /// (an e-mail address), or a run of digits and separators after `+` or
    /// `00` (a phone number). One pass over the bytes, so a megabyte of
    /// hostile input costs a megabyte of reading.
    static func identifiers(inText bytes: [UInt8]) -> [Identifier] {
        var found: [Identifier] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\""), let (member, end) = quotedMember(in: bytes, at: index) {
                if let identifier = member { found.append(identifier) }
                index = end
            } else if byte == UInt8(ascii: "+") || (byte == UInt8(ascii: "0") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "0")) {
                let end = phoneEnd(in: bytes, from: index)
                if let phone = Identifier(kind: "phone", value: String(decoding: bytes[index..<end], as: UTF8.self)) { found.append(phone) }
                index = max(end, index + 1)
            } else if byte == UInt8(ascii: "@") {
                let (start, end) = (wordStart(in: bytes, before: index), wordEnd(in: bytes, after: index))
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                if let email = Identifier(kind: "email", value: text), email.isWellFormed { found.append(email) }
                index = end
            } else {
                index += 1
            }
        }
        return found
    }

    private static let memberKinds = Identifier.kinds.map { (kind: $0, quoted: Array("\"\($0)\"".utf8)) }

    /// At a `"`: a `"kind": "value"` member, the identifier it holds (nil when
    /// the value is none) and where it ends; nil when no member starts here.
    private static func quotedMember(in bytes: [UInt8], at start: Int) -> (Identifier?, Int)? {
        guard let kind = memberKinds.first(where: { bytes[start...].starts(with: $0.quoted) }) else { return nil }
        var index = start + kind.quoted.count
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return (nil, index) }
        index += 1
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return (nil, index) }
        let valueStart = index + 1
        var end = valueStart
        while end < bytes.count, end - valueStart <= 256, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return (nil, valueStart) }
        return (Identifier(kind: kind.kind, value: String(decoding: bytes[valueStart..<end], as: UTF8.self)), end + 1)
    }

    /// The end of digits and ` ()./-` after a leading `+` or `00`, at most 40 bytes on.
    private static func phoneEnd(in bytes: [UInt8], from start: Int) -> Int {
        var end = start + 1
        while end < bytes.count, end - start < 40, (0x30...0x39).contains(bytes[end]) || " ()./-".utf8.contains(bytes[end]) { end += 1 }
        while end > start + 1, !(0x30...0x39).contains(bytes[end - 1]) { end -= 1 }
        return end
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && !"\"'<>(),;:[]{}\\".utf8.contains(byte)
    }

    private static func wordStart(in bytes: [UInt8], before index: Int) -> Int {
        var start = index
        while start > 0, index - start < 128, isWordByte(bytes[start - 1]) { start -= 1 }
        return start
    }

    private static func wordEnd(in bytes: [UInt8], after index: Int) -> Int {
        var end = index + 1
        while end < bytes.count, end - index < 128, isWordByte(bytes[end]) { end += 1 }
        return end
    }
}
