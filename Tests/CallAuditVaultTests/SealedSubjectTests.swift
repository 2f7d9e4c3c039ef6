import CallAuditDomain
import Crypto
import Foundation
import Testing

@testable import CallAuditVault

/// A sealed subject's bytes are part of its event's content hash: a republished event re-sealed
/// with different bytes would be a conflicting republish, and verify-store and exports read them.
/// The expected bytes come from outside this code (Python's `hmac` and `cryptography`'s AESGCM:
/// nonce = HMAC-SHA256(key, ref ‖ 0 ‖ plaintext)[0..<12], AES-256-GCM with the ref as associated data).
@Suite("Sealed subjects: pinned bytes, the same in bytes and in a tree")
struct SealedSubjectTests {
    static let person = ResolvedSubject(ref: "sub_0123456789abcdef01234567", dataKey: Array(0..<32))

    static let pinned: [(ref: String, plaintext: String, sealed: String)] = [
        ("sub_0123456789abcdef01234567", #"{"name":"Jane Doe","phone":"+14155550100"}"#,
         #"{"sealed":"obeceoR0PebL3OlopUO0c+69bIEBkRDiwzinm3+/Fj5lv08P9lw+AFa86LEX56KKSF6kEU6J97ddu/5pas8cwUWFWkjWwQ==","subject_ref":"sub_0123456789abcdef01234567"}"#),
        ("sub_00000000000000000000ffff", #"{"customer_id":"C-1","email":"jé@example.com","name":"\"Q\""}"#,
         #"{"sealed":"n9kwDKICkCxrOSzqxehbzFT26F5ow529h8aD92y9mpEPT8n9ur2HC68ut4WLRO8cb77rRdEC8bfkv3PFwYKu8hJzpQQ1DTVACumP7oOsGMGzOL7z0ylwqZ88","subject_ref":"sub_00000000000000000000ffff"}"#),
    ]

    @Test("the bytes written directly and the tree's bytes are the pinned ones")
    func pinnedBytes() throws {
        for (ref, plaintext, sealed) in Self.pinned {
            let person = ResolvedSubject(ref: ref, dataKey: Array(0..<32))
            let canonical = Array(plaintext.utf8)
            #expect(try JSONParser.parse(canonical).canonicalBytes == canonical, "the plaintext is canonical")
            #expect(String(decoding: try SealedSubject.canonicalBytes(of: canonical[...], as: person), as: UTF8.self) == sealed)
            // What an event walked as a tree gets (`sealSubject`): its subject's canonical bytes sealed, as a value.
            let tree = try SealedSubject.value(of: try JSONParser.parse(canonical).canonicalBytes[...], as: person)
            #expect(String(decoding: tree.canonicalBytes, as: UTF8.self) == sealed)
        }
    }

    @Test("a subject inside a larger buffer seals as it does alone; every form opens to the plaintext")
    func slicesAndRoundTrips() throws {
        for length in [0, 1, 2, 3, 15, 16, 17, 100, 301] {
            let name = String(repeating: "é\"", count: length)
            let subject: JSONValue = ["name": .string(name), "phone": .string("+14155550100")]
            let canonical = subject.canonicalBytes
            let padded = Array("xx".utf8) + canonical + Array("yy".utf8)
            let alone = try SealedSubject.canonicalBytes(of: canonical[...], as: Self.person)
            // Its length known beforehand (the sealed event's room), and the same bytes appended after others.
            #expect(SealedSubject.canonicalCount(plaintext: canonical.count, ref: Self.person.ref) == alone.count)
            var appended = Array("prefix".utf8)
            try SealedSubject.appendCanonicalBytes(of: canonical[...], as: Self.person, to: &appended)
            #expect(appended == Array("prefix".utf8) + alone)
            #expect(try SealedSubject.canonicalBytes(of: padded[2..<(2 + canonical.count)], as: Self.person) == alone)
            let parsed = try JSONParser.parse(alone)
            #expect(parsed.canonicalBytes == alone, "written in canonical form")
            let text = try #require(parsed["sealed"]?.stringValue)
            let box = try AES.GCM.SealedBox(combined: try #require(Data(base64Encoded: text)))
            let opened = try AES.GCM.open(box, using: SymmetricKey(data: Self.person.dataKey), authenticating: Array(Self.person.ref.utf8))
            #expect(Array(opened) == canonical)
        }
    }

    @Test("a ref with characters JSON escapes is written escaped, as the tree writes it")
    func escapedRef() throws {
        let person = ResolvedSubject(ref: "sub_\"\\\u{1}é", dataKey: Array(0..<32))
        let canonical = Array(#"{"email":"a@b.c"}"#.utf8)
        let bytes = try SealedSubject.canonicalBytes(of: canonical[...], as: person)
        #expect(bytes == (try SealedSubject.value(of: canonical[...], as: person)).canonicalBytes)
        #expect(try JSONParser.parse(bytes)["subject_ref"]?.stringValue == person.ref)
    }
}
