import Crypto
import Testing

@testable import CallAuditVault

/// The blind index keyed once must give exactly the HMAC computed from the key each time: every stored
/// blind index was made that way, and a lookup must find them.
@Suite("The blind-index HMAC keyed once")
struct BlindIndexMACTests {
    @Test("the same codes as HMAC-SHA256 keyed per call, for any key and input, used again and from several threads")
    func sameAsKeyedPerCall() async {
        for keySize in [0, 16, 32, 64, 65] {
            let key = (0..<keySize).map { _ in UInt8.random(in: 0...255) }
            let mac = HMACSHA256(key: key)
            let inputs = (0..<200).map { _ in (0..<Int.random(in: 0...300)).map { _ in UInt8.random(in: 0...255) } }
            let expected = inputs.map { Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: key))) }
            #expect(inputs.map { mac.code(for: $0) } == expected)
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { inputs.map { mac.code(for: $0) } == expected } }
                for await same in group { #expect(same) }
            }
        }
    }
}
