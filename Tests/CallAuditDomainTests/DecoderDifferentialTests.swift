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

    @Test("binary mode: the contract corpus as ce_* headers takes the fast path, and every hostile variant gets the reference's verdict")
    func binaryMode() throws {
        var fast = 0, variants = 0
        for sample in ContractCorpus.samples where sample.valid && sample.name.hasSuffix(" valid") {
            guard let document = try? JSONParser.parse(Array(sample.raw.utf8)), let members = document.objectValue,
                let data = document["data"], members.allSatisfy({ $0.key == "data" || $0.value.stringValue != nil })
            else { continue }
            let headers = members.filter { $0.key != "data" }.map { (key: "ce_" + $0.key, value: Optional(Array($0.value.stringValue!.utf8))) }
            let value = data.canonicalBytes
            let plain = IncomingMessage(headers: headers, value: value)
            #expect(try record("\(sample.name) (binary)") { () throws(PropertyViolation) in try DecoderDifferential.check(plain, with: decoder) })
            fast += 1
            for (name, message) in Self.binaryVariants(headers: headers, value: value) {
                _ = try record("\(sample.name) (binary, \(name))") { () throws(PropertyViolation) in try DecoderDifferential.check(message, with: decoder) }
                variants += 1
            }
        }
        #expect(fast > 10)
        #expect(variants > 100)
    }

    /// A binary message's headers and value, edited as a producer could: the
    /// case of names, content types, duplicates, headers without a value,
    /// values needing escapes, and a value that tries to close `data` early
    /// and add members of its own.
    static func binaryVariants(headers: [(key: String, value: [UInt8]?)], value: [UInt8]) -> [(String, IncomingMessage)] {
        func message(_ headers: [(key: String, value: [UInt8]?)], _ value: [UInt8]? = value) -> IncomingMessage {
            IncomingMessage(headers: headers, value: value)
        }
        let id = headers.first { $0.key == "ce_id" }!
        let others = headers.filter { $0.key != "ce_id" }
        let text = { (s: String) in Optional(Array(s.utf8)) }
        return [
            ("content-type json", message(headers + [("content-type", text("application/json"))])),
            ("Content-Type and ce_datacontenttype", message(headers + [("Content-Type", text("text/plain")), ("ce_datacontenttype", text("application/json"))])),
            ("content-type twice", message(headers + [("content-type", text("application/json")), ("content-type", text("application/json"))])),
            ("content-type without a value", message(headers + [("content-type", nil)])),
            ("structured content type", message(headers + [("content-type", text("application/cloudevents+json"))])),
            ("content-type not UTF-8", message(headers + [("content-type", [0x61, 0xFF])])),
            ("upper-case prefix", message(others + [("CE_id", id.value)])),
            ("upper-case name", message(others + [("ce_ID", id.value)])),
            ("id twice, two cases", message(headers + [("CE_id", text("other"))])),
            ("id twice", message(headers + [id])),
            ("id without a value, then with", message([("ce_id", nil)] + headers)),
            ("a ce_data header", message(headers + [("ce_data", text("{}"))])),
            ("an empty attribute name", message(headers + [("ce_", text("x"))])),
            ("a name with a dash", message(headers + [("ce_x-y", text("x"))])),
            ("a non-ASCII name", message(headers + [("ce_\u{212A}ey", text("x"))])),
            ("a name not UTF-8", IncomingMessage(headers: headers + [("ce_x\u{FFFD}", text("x"))], value: value, headerNamesAreUTF8: false)),
            ("a quote in the id", message(others + [("ce_id", text("a\"b"))])),
            ("a backslash in the id", message(others + [("ce_id", text(#"a\u0041"#))])),
            ("a NUL in the id", message(others + [("ce_id", [0x61, 0x00])])),
            ("a line break in the id", message(others + [("ce_id", text("a\nb"))])),
            ("a non-ASCII id", message(others + [("ce_id", text("é-1"))])),
            ("an id not UTF-8", message(others + [("ce_id", [0x61, 0xC3])])),
            ("no id", message(others)),
            ("data closed early, an id added", message(others, value + Array(#","id":"x""#.utf8))),
            ("data closed early, members added", message(headers, value + Array(#","extra":"x""#.utf8))),
            ("data and a second object", message(headers, value + Array("{}".utf8))),
            ("data closed inside a string", message(headers, Array(#"{"a":"}","id":"x"}"#.utf8))),
            ("data with an escaped quote", message(headers, Array(#"{"a":"\"}"}"#.utf8))),
            ("data spaced out", message(headers, [0x20, 0x0A] + value + [0x09, 0x0D])),
            ("data an array", message(headers, Array("[]".utf8))),
            ("data a string", message(headers, Array(#""x""#.utf8))),
            ("data empty", message(headers, [])),
            ("no value", message(headers, nil)),
            ("data unterminated", message(headers, Array(value.dropLast()))),
            ("data with a stray bracket", message(headers, Array(value.dropLast()) + Array("]}".utf8))),
        ]
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
