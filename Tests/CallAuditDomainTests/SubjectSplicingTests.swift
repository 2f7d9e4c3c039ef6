import Crypto
import Testing

@testable import CallAuditDomain

/// Sealing an event the one-pass decoder wrote replaces its subject objects in
/// place: each replacement written straight into the new bytes, in the bytes'
/// order whatever order the ranges are listed in, the event hashed again, and
/// what it held in the clear handed back rather than freed.
@Suite("Subjects replaced in an event's bytes, in place")
struct SubjectSplicingTests {
    static let columns = EventColumns(
        stream: "call/c1", typeName: "call.started", source: "urn:test", id: "e1", time: Timestamp(rfc3339: "2026-11-24T10:00:00Z")!)
    static let canonical = Array(#"{"a":{"phone":"+1"},"b":[{"email":"x@y"}],"c":1}"#.utf8)

    /// The event with its two subjects listed in the message's order, which is not the bytes'.
    static func event(ranges: [Range<Int>]? = nil) -> DecodedEvent {
        let text = String(decoding: canonical, as: UTF8.self)
        func range(of object: String) -> Range<Int> {
            let start = text.utf8.distance(from: text.utf8.startIndex, to: text.range(of: object)!.lowerBound)
            return start..<start + object.utf8.count
        }
        let listed = ranges ?? [range(of: #"{"email":"x@y"}"#), range(of: #"{"phone":"+1"}"#)]
        return DecodedEvent(columns: columns, canonical: canonical, subjectRanges: listed, hashed: false)
    }

    @Test("each subject's writer appends its replacement in the bytes' order; hashed, no ranges left; the cleartext handed back")
    func replacedInPlace() throws {
        var event = Self.event()
        let ranges = try #require(event.subjectRanges)
        var visited: [Int] = []
        let cleartext = event.replaceSubjects(growth: 8) { subject, plaintext, bytes in
            visited.append(subject)
            #expect(Array(plaintext) == Array(Self.canonical[ranges[subject]]))
            bytes.append(contentsOf: #"{"s":\#(subject)}"#.utf8)
        }
        #expect(visited == [1, 0], "in the bytes' order")
        let expected = Array(#"{"a":{"s":1},"b":[{"s":0}],"c":1}"#.utf8)
        #expect(event.canonical == expected)
        #expect(event.subjectRanges == nil)
        #expect(event.isHashed)
        #expect(event.contentHash == Array(SHA256.hash(data: expected)))
        #expect(event.columns == Self.columns)
        #expect(cleartext.canonical == Self.canonical)
        #expect(cleartext.subjectRanges == ranges)
        #expect(cleartext.tree == nil)
        // The copying form gives the same event.
        let copied = Self.event().replacingSubjects(withCanonical: [Array(#"{"s":0}"#.utf8), Array(#"{"s":1}"#.utf8)])
        #expect(copied.canonical == expected && copied.contentHash == event.contentHash && copied.subjectRanges == nil)
    }

    @Test("ranges already in the bytes' order are spliced as listed")
    func sortedRanges() throws {
        let listed = Array(try #require(Self.event().subjectRanges).reversed())
        var event = Self.event(ranges: listed)
        var visited: [Int] = []
        _ = event.replaceSubjects(growth: 0) { subject, _, bytes in
            visited.append(subject)
            bytes.append(contentsOf: "null".utf8)
        }
        #expect(visited == [0, 1])
        #expect(event.canonical == Array(#"{"a":null,"b":[null],"c":1}"#.utf8))
    }

    struct Refused: Error {}

    @Test("a writer that throws leaves the event as it was")
    func throwingWriter() {
        var event = Self.event()
        let ranges = event.subjectRanges
        #expect(throws: Refused.self) {
            _ = try event.replaceSubjects(growth: 0) { subject, _, bytes in
                guard subject == 1 else { throw Refused() }
                bytes.append(contentsOf: "null".utf8)
            }
        }
        #expect(event.canonical == Self.canonical)
        #expect(event.subjectRanges == ranges)
        #expect(!event.isHashed)
    }
}
