import CallAuditDomain
import Crypto
import Foundation

/// A subject object sealed under its person's key: `{"sealed": base64,
/// "subject_ref": ref}`, where `sealed` is nonce ‖ AES-GCM ciphertext ‖ tag
/// of the object's canonical bytes, the ref as associated data.
///
/// The nonce is synthetic (HMAC of the plaintext under the person's key, as
/// in SIV): the same object for the same person seals to the same bytes, so
/// a republished event keeps its content hash, and a nonce never repeats for
/// different plaintexts. `SealedSubjectTests` pins the bytes against an
/// outside implementation: a changed nonce, ciphertext or encoding would
/// change every re-sealed event's hash.
enum SealedSubject {
    /// nonce ‖ ciphertext ‖ tag of a subject object given in its canonical bytes.
    static func combined(_ plaintext: ArraySlice<UInt8>, as person: ResolvedSubject) throws -> Data {
        // A person resolved outside a batch (a test, a tool) is keyed here, for this subject alone.
        let sealing = person.sealing ?? SealingKey(ref: person.ref, dataKey: person.dataKey)
        let ref = sealing.ref
        // HMAC-SHA256(key, ref ‖ 0 ‖ plaintext), as it always was; the plaintext read in place.
        let code = sealing.nonceMAC.digest { hash in
            ref.withUnsafeBytes { hash.update(bufferPointer: $0) }
            withUnsafeBytes(of: UInt8(0)) { hash.update(bufferPointer: $0) }
            plaintext.withUnsafeBytes { hash.update(bufferPointer: $0) }
        }
        // The code's first 12 bytes, copied once into the nonce's `Data` (the digest is 32
        // bytes, so its base address is not nil): an array of the code, its prefix and a
        // generic `Data` made from that were about 1 k instructions per subject.
        let nonce = try code.withUnsafeBytes { try AES.GCM.Nonce(data: Data(bytes: $0.baseAddress!, count: 12)) }
        return try AES.GCM.seal(plaintext, using: sealing.aesKey, nonce: nonce, authenticating: ref).combined!
    }

    /// The sealed object's canonical bytes, written directly: its two members in
    /// RFC 8785's order, and base64, which has nothing to escape.
    static func canonicalBytes(of plaintext: ArraySlice<UInt8>, as person: ResolvedSubject) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(canonicalCount(plaintext: plaintext.count, ref: person.ref))
        try appendCanonicalBytes(of: plaintext, as: person, to: &bytes)
        return bytes
    }

    /// The same bytes appended to `bytes`: the seal stage writes them straight into the sealed event's.
    static func appendCanonicalBytes(of plaintext: ArraySlice<UInt8>, as person: ResolvedSubject, to bytes: inout [UInt8]) throws {
        let sealed = try combined(plaintext, as: person)
        bytes.append(contentsOf: #"{"sealed":""#.utf8)
        sealed.withUnsafeBytes { Base64Writer.append($0, to: &bytes) }
        bytes.append(contentsOf: #"","subject_ref":"#.utf8)
        JSONValue.writeCanonicalString(person.ref, into: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// The sealed object's length for a plaintext of this many bytes (a ref with nothing to
    /// escape, as every ref the vault makes): nonce and tag add 28 bytes, base64, the members' 30.
    static func canonicalCount(plaintext count: Int, ref: String) -> Int {
        Base64Writer.encodedCount(12 + count + 16) + ref.utf8.count + 30
    }

    /// The sealed object as a tree, for an event walked as one.
    static func value(of plaintext: ArraySlice<UInt8>, as person: ResolvedSubject) throws -> JSONValue {
        ["subject_ref": .string(person.ref), "sealed": .string(try combined(plaintext, as: person).base64EncodedString())]
    }
}
