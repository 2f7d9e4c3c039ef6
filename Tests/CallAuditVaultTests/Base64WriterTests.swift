import Foundation
import Testing

@testable import CallAuditVault

/// A sealed subject's `sealed` member is base64 written by `Base64Writer`: its characters are part of
/// the event's content hash, so they must be Foundation's, which wrote them before.
@Suite("Base64 written straight into a buffer")
struct Base64WriterTests {
    @Test("the same characters as Foundation's base64EncodedString for every length from 0 to 300, after what the buffer held")
    func sameAsFoundation() {
        for length in 0...300 {
            let input = (0..<length).map { _ in UInt8.random(in: 0...255) }
            var out = Array("prefix".utf8)
            input.withUnsafeBytes { Base64Writer.append($0, to: &out) }
            #expect(String(decoding: out, as: UTF8.self) == "prefix" + Data(input).base64EncodedString(), "length \(length)")
            #expect(out.count == 6 + Base64Writer.encodedCount(length))
        }
    }

    @Test("RFC 4648's test vectors")
    func rfcVectors() {
        for (input, expected) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            var out: [UInt8] = []
            Array(input.utf8).withUnsafeBytes { Base64Writer.append($0, to: &out) }
            #expect(String(decoding: out, as: UTF8.self) == expected)
        }
        var all: [UInt8] = []
        [UInt8]([0xfb, 0xff, 0xbf]).withUnsafeBytes { Base64Writer.append($0, to: &all) }
        #expect(String(decoding: all, as: UTF8.self) == "+/+/")
    }
}
