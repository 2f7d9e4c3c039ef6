import Foundation
import Testing

@testable import CallAuditDomain

/// Every input that ever made a fuzz target fail (FuzzTesting/FailCases/<target>/) and every seed
/// (FuzzTesting/Corpus/<target>/), through the same property check the libFuzzer target runs
/// (docs/fuzzing.md), so a crash or hang once found stays fixed in the normal test run.
@Suite("Fuzzing regressions: recorded failures and seeds keep the fuzzed properties")
struct FuzzRegressionTests {
    @Test("the JSON parser accepts only RFC 8259 JSON, rejects it only for I-JSON limits, and round trips")
    func json() throws { try FuzzInputs.check(target: "json", with: JSONProperties.checkParser) }

    @Test("RFC 8785: what parses canonicalises, to a fixed point, as an independent writer does")
    func canonical() throws { try FuzzInputs.check(target: "canonical", with: JSONProperties.checkCanonical) }

    @Test("the decoder's rejections name no values, and both CloudEvents modes give the same event")
    func decoder() throws { try FuzzInputs.check(target: "decoder", with: EventDecoderProperties.check) }

    @Test("RFC 3339 parsing agrees with an independent reading, and its output reads back unchanged")
    func timestamp() throws { try FuzzInputs.check(target: "timestamp", with: TimestampProperties.check) }

    @Test("the checks fail where the property fails (the checks themselves are tested)")
    func checksCanFail() {
        // Not ECMAScript's form: a trailing zero; an exponent below 1e21.
        #expect(throws: PropertyViolation.self) { try JSONProperties.checkNumberText("1.50", 1.5) }
        #expect(throws: PropertyViolation.self) { try JSONProperties.checkNumberText("1e+21", 1e20) }
        // The object is at depth 0, the array 1, the inner object 2, its 2 at depth 3.
        #expect(ReferenceJSONGrammar.deepestValue(in: Array(#"{"a":[1,{"b":2}]}"#.utf8)) == 3)
        #expect(ReferenceJSONGrammar.deepestValue(in: Array(#"{"a":01}"#.utf8)) == nil)
        #expect(ReferenceRFC3339.microseconds("1970-01-01T00:00:01.5+00:01") == -58_500_000)
        // A detail that quoted a value, as a careless message would, breaks the decoder's property; a path does not.
        let message = IncomingMessage(value: Array(#"{"data":{"subject":{"phone":"+1 415 555 0100","name":"Jane Doe"}}}"#.utf8))
        #expect(throws: PropertyViolation.self) {
            try EventDecoderProperties.checkNamesNoValues(Rejection(.schemaViolation, "data.subject.phone: '+1 415 555 0100' is not E.164"), of: message)
        }
        #expect(throws: PropertyViolation.self) {
            try EventDecoderProperties.checkNamesNoValues(Rejection(.schemaViolation, "data.subject: Jane Doe must be an object"), of: message)
        }
        #expect(throws: Never.self) {
            try EventDecoderProperties.checkNamesNoValues(Rejection(.schemaViolation, "data.subject.phone: must be an E.164 number (+ and up to 15 digits)"), of: message)
        }
        let framed = EventDecoderProperties.message(fromFuzzInput: Array("H\nce_id: e1\nce_x\n\n{}".utf8))
        #expect(framed.headers.map(\.key) == ["ce_id", "ce_x"] && framed.header("ce_id") == Array("e1".utf8) && framed.value == Array("{}".utf8))
    }
}

/// The committed fuzz inputs of one target, read from the repository.
enum FuzzInputs {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzTesting")

    /// Runs `property` on every failure case and seed of `target`; each must hold, and within 5 s (hangs were failures too).
    static func check(target: String, with property: ([UInt8]) throws(PropertyViolation) -> Void) throws {
        var seeds = 0
        for folder in ["FailCases", "Corpus"] {
            let directory = root.appendingPathComponent(folder).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let input = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
                let clock = ContinuousClock()
                let elapsed = clock.measure {
                    do throws(PropertyViolation) { try property(input) } catch { Issue.record("\(folder)/\(target)/\(name): \(error)") }
                }
                #expect(elapsed < .seconds(5), "\(folder)/\(target)/\(name) took \(elapsed)")
                if folder == "Corpus" { seeds += 1 }
            }
        }
        #expect(seeds > 0, "FuzzTesting/Corpus/\(target) has seeds")
    }
}
