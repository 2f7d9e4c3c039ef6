@testable import CallAuditVault
import Crypto
import Foundation
import Testing

@Suite("Identifiers and key-encryption keys")
struct VaultTests {
    @Test(
        "phone numbers normalise to E.164 exactly when the API's pattern accepts them",
        arguments: [
            ("+14155550100", "+14155550100"), ("+1 (415) 555-0100", "+14155550100"), (" +1.415.555.0100 ", "+14155550100"),
            ("0049 30 123456", "+4930123456"), ("+44/20/7946-0018", "+442079460018"), ("+1", nil), ("415-555-0100", nil),
            ("+0415", nil), ("(+1) 415", nil), ("+1 415 555 0100 ext 2", nil), ("+1234567890123456", nil), ("0 049 30", nil),
        ] as [(String, String?)])
    func phones(_ input: String, _ expected: String?) throws {
        #expect(Identifier(kind: "phone", value: input)?.value == expected)
        let pattern = try Self.openAPIPattern("phone")
        let matches = input.range(of: pattern, options: .regularExpression) != nil
        #expect(matches == (expected != nil), "the OpenAPI pattern agrees for \(input)")
    }

    @Test("e-mail addresses are trimmed and lower-cased; customer and employee ids trimmed; a name is not an identifier")
    func otherIdentifiers() {
        #expect(Identifier(kind: "email", value: " Jane@Example.COM ")?.value == "jane@example.com")
        #expect(Identifier(kind: "email", value: "@example.com")?.isWellFormed == false)
        #expect(Identifier(kind: "customer_id", value: " C-1 ") == .customerID("C-1"))
        #expect(Identifier(kind: "employee_id", value: "  ") == nil)
        #expect(Identifier(kind: "name", value: "Jane") == nil)
        #expect(Identifier.phone("+1").indexInput != Identifier.customerID("+1").indexInput, "kinds never collide")
    }

    @Test("a data key wrapped by a KEK unwraps only with it; a rotation keeps the old key for what it wrapped")
    func wrapping() throws {
        let keys = try KeyEncryptionKeys.single(base64: Data(repeating: 7, count: 32).base64EncodedString())
        let dataKey = Array(repeating: UInt8(9), count: 32)
        let (kekID, wrapped) = try keys.wrap(dataKey)
        #expect(kekID == keys.currentID && !wrapped.contains(dataKey))
        #expect(try keys.unwrap(wrapped, kekID: kekID) == dataKey)
        var tampered = wrapped
        tampered[5] ^= 1
        #expect(throws: VaultError.self) { try keys.unwrap(tampered, kekID: kekID) }

        let rotated = try keys.addingNewCurrent()
        #expect(rotated.currentID != keys.currentID && rotated.ids.count == 2)
        #expect(try rotated.unwrap(wrapped, kekID: kekID) == dataKey)
        #expect(try rotated.wrap(dataKey).kekID == rotated.currentID)
        let retired = try rotated.removing(kekID)
        #expect(throws: VaultError.missingKEK(kekID)) { try retired.unwrap(wrapped, kekID: kekID) }
        #expect(throws: VaultError.self) { try KeyEncryptionKeys.single(base64: "c2hvcnQ=") }
    }

    @Test("a wrap with the caller's nonce stores that nonce first and unwraps; wraps without one get different nonces")
    func wrappingWithANonce() throws {
        let keys = try KeyEncryptionKeys.single(base64: Data(repeating: 7, count: 32).base64EncodedString())
        let dataKey = Array(repeating: UInt8(9), count: 32)
        let nonce = Array(UInt8(1)...UInt8(12))
        let (kekID, wrapped) = try keys.wrap(dataKey, nonce: nonce)
        #expect(Array(wrapped.prefix(12)) == nonce && wrapped.count == 12 + 32 + 16)
        #expect(try keys.unwrap(wrapped, kekID: kekID) == dataKey)
        let random = try (0..<50).map { _ in Array(try keys.wrap(dataKey).wrapped.prefix(12)) }
        #expect(Set(random).count == 50)
    }

    @Test("one wrapper made per batch wraps each key to AES-GCM's own bytes under the KEK (its id authenticated), and each unwraps")
    func wrapperPerBatch() throws {
        let kek = Array(repeating: UInt8(7), count: 32)
        let keys = try KeyEncryptionKeys.single(base64: Data(kek).base64EncodedString())
        let wrapper = keys.currentWrapper()
        for index in 0..<20 {
            let dataKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
            let nonce = (0..<12).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            let wrapped = try wrapper.wrap(dataKey, nonce: nonce)
            let reference = try AES.GCM.seal(dataKey, using: SymmetricKey(data: kek), nonce: AES.GCM.Nonce(data: nonce), authenticating: Array(keys.currentID.utf8))
            #expect(wrapped == Array(reference.combined!))
            #expect(try keys.wrap(dataKey, nonce: nonce).wrapped == wrapped)
            #expect(try keys.unwrap(wrapped, kekID: keys.currentID) == dataKey)
        }
    }

    @Test("the KEK file is made with mode 0600 on first use, read back as written, and never holds a key in another form")
    func file() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("kek.json")
        #expect(throws: VaultError.self) { try KeyEncryptionKeys.load(file: url, create: false) }
        let made = try KeyEncryptionKeys.load(file: url, create: true)
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try KeyEncryptionKeys.load(file: url, create: false)
        #expect(again.currentID == made.currentID)
        let rotated = try again.addingNewCurrent()
        try rotated.write(to: url)
        #expect(try KeyEncryptionKeys.load(file: url, create: false).ids == rotated.ids)
        try Data("{\"current\":\"x\",\"keys\":{}}".utf8).write(to: url)
        #expect(throws: VaultError.self) { try KeyEncryptionKeys.load(file: url, create: false) }
    }

    /// The pattern the OpenAPI document gives an identifier of POST /v1/requests.
    static func openAPIPattern(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("schemas/openapi.yaml"), encoding: .utf8)
        let line = try #require(document.split(separator: "\n").first { $0.contains("\(name): { type: string, pattern:") })
        let quoted = line[line.index(after: line.firstIndex(of: "\"")!)..<line.lastIndex(of: "\"")!]
        // YAML double-quoted escapes: \\ is one backslash.
        return quoted.replacingOccurrences(of: "\\\\", with: "\\")
    }
}
