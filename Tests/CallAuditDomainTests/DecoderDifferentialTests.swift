import Foundation
import Testing

@testable import CallAuditDomain

/// The one-pass decoder against the tree decoder (the reference), on the
/// contract corpus in several layouts and on every committed fuzz input.
/// The simulator's output and the hostile-producer corpus are fed in
/// `DecoderDifferentialCorpusTests` (the integration target, where they live).
@Suite("The one-pass decoder gives the tree decoder's bytes, columns, subjects and verdicts")
struct DecoderDifferentialTests {
    let decoder = OnePassDecoder(reference: EventDecoderProperties.decoder)

    @Test("the contract corpus, canonical, reversed and spaced out; every valid ordinary event takes the fast path")
    func contractCorpus() throws {
        var fast = 0
        for sample in ContractCorpus.samples {
            for (layout, bytes) in Self.layouts(of: Array(sample.raw.utf8)) {
                let took = try record("\(sample.name) (\(layout))") { () throws(PropertyViolation) in
                    try DecoderDifferential.check(IncomingMessage(value: bytes), with: decoder)
                }
                if took { fast += 1 }
                // The contract's own sample events are what ordinary traffic looks like.
                if sample.valid, sample.name.hasSuffix(" valid") { #expect(took, "\(sample.name) (\(layout)) takes the fast path") }
            }
        }
        #expect(fast > 100)
    }

    @Test("every committed fuzz input of every target, as a structured and a framed message")
    func fuzzInputs() throws {
        var count = 0
        for folder in ["Corpus", "FailCases"] {
            let root = FuzzInputs.root.appendingPathComponent(folder)
            for target in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
                let directory = root.appendingPathComponent(target)
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted() where !name.hasPrefix(".") {
                    let input = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
                    _ = try record("\(folder)/\(target)/\(name)") { () throws(PropertyViolation) in
                        try DecoderDifferential.check(fuzzInput: input)
                        return true
                    }
                    count += 1
                }
            }
        }
        #expect(count > 100)
    }

    /// Subjects nested, in arrays, in objects whose members are reordered, and one inside another.
    static let scatteredSubjects = #"""
        {"type":"call.started","data":{"z":{"subject":{"name":"Z"}},"parties":[{"subject":{"phone":"+14155550100","subject":{"name":"inner"}},"role":"customer","party_id":"p2"},{"role":"agent","party_id":"p1","subject":{"employee_id":"E1"}}],"call_id":"c1","channel":"phone","direction":"inbound","a":[{"subject":{"x":1}}]},"time":"2026-11-24T10:00:00Z","source":"urn:t","id":"e1","specversion":"1.0"}
        """#

    @Test("subjects are found where they sit after sorting: nested, in arrays, in reordered objects")
    func subjectsMoveWithTheirMembers() throws {
        let took = try DecoderDifferential.check(IncomingMessage(value: Array(Self.scatteredSubjects.utf8)), with: decoder)
        #expect(took)
        #expect(decoder.subjectRanges.count == 4)
    }

    @Test("subjects sealed in the fast path's bytes give the bytes of subjects sealed in the reference's tree")
    func subjectsAreSplicedIntoTheBytes() throws {
        let message = IncomingMessage(value: Array(Self.scatteredSubjects.utf8))
        let fast = try decoder.decode(message).get()
        let reference = try decoder.reference.decode(message).get()
        #expect(fast.subjectRanges?.count == 4, "the fast path's event carries its subjects' ranges: no tree is built for it")
        #expect(reference.subjectRanges == nil)
        #expect(fast.subjectObjects.map(\.canonicalBytes) == reference.subjectObjects.map(\.canonicalBytes))
        // Sealed forms of different lengths, with characters RFC 8785 escapes.
        let sealed: [JSONValue] = (0..<4).map { index in
            ["subject_ref": .string("sub_\(index)"), "sealed": .string(String(repeating: "Ab/+=", count: index * 9) + "\"\\\u{1}é")]
        }
        let (spliced, walked) = (fast.replacingSubjects(with: sealed), reference.replacingSubjects(with: sealed))
        #expect(spliced.canonical == walked.canonical)
        #expect(spliced.contentHash == walked.contentHash)
        #expect(spliced.columns == walked.columns)
        #expect(spliced.subjectRanges == nil, "nothing left to seal")
        #expect(spliced.document.canonicalBytes == spliced.canonical, "still canonical")
    }

    /// The sample as it is, with every object's members reversed (so each
    /// object is re-sorted, and `data` comes before `type`), and with spaces
    /// and line breaks around every token.
    static func layouts(of bytes: [UInt8]) -> [(String, [UInt8])] {
        guard let value = try? JSONParser.parse(bytes) else { return [("raw", bytes)] }
        return [("raw", bytes), ("reversed", Array(reversed(value).compactBytes)), ("spaced", spaced(bytes))]
    }

    private static func reversed(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): .object(members.reversed().map { (key: $0.key, value: reversed($0.value)) })
        case .array(let elements): .array(elements.map(reversed))
        default: value
        }
    }

    /// Whitespace after every structural character outside strings.
    private static func spaced(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x20]
        var inString = false
        var escaped = false
        for byte in bytes {
            out.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if "{}[]:,".utf8.contains(byte) {
                out.append(contentsOf: [0x0A, 0x09, 0x20])
            }
        }
        return out
    }

    private func record(_ name: String, _ body: () throws(PropertyViolation) -> Bool) throws -> Bool {
        do {
            return try body()
        } catch {
            Issue.record("\(name): \(error)")
            return false
        }
    }
}
