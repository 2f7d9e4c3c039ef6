import Foundation
import Testing

@testable import CallAuditSigning

@Suite("Signing keys and detached signatures")
struct KeyRingTests {
    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
    }

    @Test("the first start makes the folder (0700) and a private key (0600); opening again finds the same key")
    func firstStartMakesAKey() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ring = try KeyRing.open(folder)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let privateFile = folder.appendingPathComponent("signing-\(ring.current.keyID).pem")
        #expect((try FileManager.default.attributesOfItem(atPath: privateFile.path)[.posixPermissions] as? Int) == 0o600)
        #expect(try KeyRing.open(folder).current.keyID == ring.current.keyID)
        #expect(!String(describing: ring.current).contains("PRIVATE"), "a key's description never shows it")
        let registry = try String(contentsOf: folder.appendingPathComponent("keys.json"), encoding: .utf8)
        #expect(!registry.contains("PRIVATE KEY"), "the published registry holds public keys only")
    }

    @Test("a signature verifies over the exact bytes; one changed byte fails")
    func signAndVerify() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ring = try KeyRing.open(folder)
        let content = Array(#"{"a":1,"b":[true,null]}"#.utf8)
        let signature = try ring.current.sign(content)
        let parsed = try DetachedSignature(reading: signature.json.canonicalBytes)
        #expect(try parsed.verify(content, withAnyOf: ring.published).keyID == ring.current.keyID)
        var tampered = content
        tampered[5] = UInt8(ascii: "2")
        #expect(throws: SigningError.badSignature(keyID: ring.current.keyID)) { try parsed.verify(tampered, withAnyOf: ring.published) }
        let raw = try DetachedSignature(reading: signature.bytes)
        #expect(try raw.verify(content, withAnyOf: ring.published).keyID == ring.current.keyID, "the raw form is found by trying each key")
    }

    @Test("after a rotation the retired key stays published, its private key is gone, and old signatures still verify")
    func rotation() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try KeyRing.open(folder)
        let content = Array("report v1".utf8)
        let old = try first.current.sign(content)
        let second = try first.rotate()
        #expect(second.current.keyID != first.current.keyID)
        #expect(second.published.map(\.status) == [.retired, .current])
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("signing-\(first.current.keyID).pem").path))
        #expect(try old.verify(content, withAnyOf: try KeyRing.open(folder).published).keyID == first.current.keyID)
    }

    @Test("OpenSSL reads the PEM keys and verifies a raw signature over the file as written")
    func openssl() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ring = try KeyRing.open(folder)
        let content = Array("canonical bytes".utf8)
        try Data(content).write(to: folder.appendingPathComponent("report.json"))
        try Data(try ring.current.sign(content).bytes).write(to: folder.appendingPathComponent("report.sig"))
        try ring.published[0].pem.write(to: folder.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
        let status = run(
            "openssl pkeyutl -verify -pubin -inkey '\(folder.path)/key.pem' -rawin -in '\(folder.path)/report.json' -sigfile '\(folder.path)/report.sig'")
        #expect(status == 0)
        let derived = run("openssl pkey -in '\(folder.path)/signing-\(ring.current.keyID).pem' -pubout | cmp - '\(folder.path)/key.pem'")
        #expect(derived == 0, "OpenSSL derives the same public key from the private PEM")
    }

    private func run(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " >/dev/null 2>&1"]
        try? process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
