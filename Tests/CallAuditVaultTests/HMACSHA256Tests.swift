import Crypto
import Testing

import CallAuditDomain
@testable import CallAuditVault

/// The vault's HMAC-SHA256 must give swift-crypto's bytes exactly: blind indexes already stored are found
/// by it, and a sealed subject's synthetic nonce (so a republished event's content hash) depends on it.
@Suite("HMAC-SHA256 over SHA-256 updates, against swift-crypto's HMAC")
struct HMACSHA256Tests {
    @Test("the same codes for keys shorter than, as long as and longer than a block, and inputs given in parts")
    func sameAsSwiftCrypto() {
        for keySize in [0, 1, 16, 31, 32, 63, 64, 65, 100, 200] {
            let key = (0..<keySize).map { _ in UInt8.random(in: 0...255) }
            let mac = HMACSHA256(key: key)
            for _ in 0..<100 {
                let parts = (0..<Int.random(in: 1...3)).map { _ in (0..<Int.random(in: 0...200)).map { _ in UInt8.random(in: 0...255) } }
                let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(parts.joined()), using: SymmetricKey(data: key)))
                switch parts.count {
                case 1: #expect(mac.code(for: parts[0]) == expected)
                case 2: #expect(mac.code(for: parts[0], parts[1]) == expected)
                default: #expect(mac.code(for: parts[0], parts[1], parts[2]) == expected)
                }
                // The digest form (a sealed subject's nonce is its first 12 bytes) is the same code.
                #expect(Array(mac.digest { hash in parts.forEach { part in part.withUnsafeBytes { hash.update(bufferPointer: $0) } } }) == expected)
            }
        }
        // RFC 4231, test case 2.
        #expect(Array(HMACSHA256(key: Array("Jefe".utf8)).digest { $0.update(data: Array("what do ya want for nothing?".utf8)) }).hexString
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256(key: Array("Jefe".utf8)).code(for: Array("what do ya want ".utf8), Array("for nothing?".utf8)).hexString
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
