import Crypto
import Testing

@testable import CallAuditDomain

/// The content hash taken in place: the same bytes as swift-crypto's
/// `Array(SHA256.hash(data:))`, which stored hashes and seals were made with.
@Suite("Content hash in place")
struct ContentHashTests {
    @Test("FIPS 180-2's vectors, and every length from 0 to 300 bytes against SHA256.hash(data:)")
    func sameAsSwiftCrypto() {
        #expect(ContentHash.of([]).bytes.hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(ContentHash.of(Array("abc".utf8)).bytes.hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var random = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(ContentHash.of(bytes).bytes == Array(SHA256.hash(data: bytes)))
            #expect(ContentHash.of(bytes).withUnsafeBytes { Array($0) } == Array(SHA256.hash(data: bytes)))
        }
    }

    @Test("an event's hash, held inline, reads the same in place as its array; two events' hashes differ by their bytes")
    func inlineInTheEvent() throws {
        let columns = EventColumns(stream: "call-c1", typeName: "callaudit.test", source: "s", id: "e1", time: Timestamp(microseconds: 0))
        let event = DecodedEvent(columns: columns, canonical: Array(#"{"a":1}"#.utf8), subjectRanges: nil)
        #expect(event.isHashed)
        #expect(event.withContentHash { Array($0) } == event.contentHash)
        #expect(event.contentHash == Array(SHA256.hash(data: Array(#"{"a":1}"#.utf8))))
        let unhashed = DecodedEvent(columns: columns, canonical: Array(#"{"a":2}"#.utf8), subjectRanges: nil, hashed: false)
        #expect(!unhashed.isHashed)
        #expect(unhashed.withContentHash { Array($0) } == Array(SHA256.hash(data: Array(#"{"a":2}"#.utf8))))
        #expect(ContentHash.of(event.canonical) != ContentHash.of(unhashed.canonical))
    }
}
