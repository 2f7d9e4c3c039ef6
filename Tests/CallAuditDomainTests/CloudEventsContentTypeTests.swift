import Testing

@testable import CallAuditDomain

/// A binary-mode message whose content type is a CloudEvents one is handed to
/// the reference as structured. The one-pass decoder reads that content type
/// as bytes (`OnePassDecoder.hasCloudEventsType`); it must answer as the
/// reference's `String.lowercased().hasPrefix` does, for any bytes.
@Suite("Binary mode: a CloudEvents content type read as bytes, as the reference reads it as text")
struct CloudEventsContentTypeTests {
    private static func reference(_ value: [UInt8]) -> Bool {
        EventDecoder.isCloudEventsType(value)
    }

    private static func bytes(_ value: [UInt8]) -> Bool {
        value.withUnsafeBufferPointer { OnePassDecoder.hasCloudEventsType($0) }
    }

    @Test("case, parameters, Unicode that lowercases to ASCII, a combining mark after the prefix, bad UTF-8", arguments: [
        "application/cloudevents+json", "Application/CloudEvents+JSON; charset=utf-8", "APPLICATION/CLOUDEVENTS",
        "application/cloudevent", "application/json", "", "application/cloudevents\u{301}+json", "application/cloudeventś",
        "applİcation/cloudevents", "appl\u{130}cation/cloudevents", "application/cloudevents\u{212A}", "\u{212A}application/cloudevents",
        "application/cloudevents\r\n", " application/cloudevents", "application\u{0}/cloudevents",
    ])
    func sameAsTheReference(_ text: String) {
        let value = Array(text.utf8)
        #expect(Self.bytes(value) == Self.reference(value), "\(text.debugDescription)")
    }

    @Test("the prefix followed by every byte, and 20,000 random mutations of it, answer as the reference")
    func mutations() {
        let prefix = Array("application/cloudevents".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(Self.bytes(prefix + [byte, 0x80]) == Self.reference(prefix + [byte, 0x80]))
            #expect(Self.bytes(prefix + [byte]) == Self.reference(prefix + [byte]))
        }
        var random = SystemRandomNumberGenerator()
        let accents: [[UInt8]] = [[0xCC, 0x81], [0xE2, 0x84, 0xAA], [0xC4, 0xB0], [0xFF], [0x41], [0x53]]
        for _ in 0..<20_000 {
            var value = prefix + Array("+json".utf8)
            let at = Int.random(in: 0...value.count, using: &random)
            if Bool.random(using: &random) {
                value.insert(contentsOf: accents.randomElement(using: &random)!, at: at)
            } else if at < value.count {
                value[at] = UInt8.random(in: 0...255, using: &random)
            }
            #expect(Self.bytes(value) == Self.reference(value), "\(value)")
        }
    }
}
