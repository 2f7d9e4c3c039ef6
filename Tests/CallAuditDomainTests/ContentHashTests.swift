import Crypto
import Testing

@testable import CallAuditDomain

/// The content hash taken in place: the same bytes as swift-crypto's
/// `Array(SHA256.hash(data:))`, which stored hashes and seals were made with.
@Suite("Content hash in place")
struct ContentHashTests {
    @Test("FIPS 180-2's vectors, and every length from 0 to 300 bytes against SHA256.hash(data:)")
    func sameAsSwiftCrypto() {
        #expect(ContentHash.of([]).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(ContentHash.of(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var random = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(ContentHash.of(bytes) == Array(SHA256.hash(data: bytes)))
        }
    }
}
