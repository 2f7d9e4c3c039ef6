import Foundation
import Testing

import CallAuditDomain
@testable import CallAuditVault

/// Every input that ever made the `identifier` fuzz target fail (FuzzTesting/FailCases/identifier/) and
/// every seed (FuzzTesting/Corpus/identifier/), through the check the target runs (docs/fuzzing.md).
@Suite("Fuzzing regressions: identifier normalisation")
struct IdentifierFuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzTesting")

    @Test("normalising is idempotent, phone numbers follow the documented E.164 rule, e-mail is trimmed and lowercased")
    func identifiers() throws {
        var seeds = 0
        for folder in ["FailCases", "Corpus"] {
            let directory = Self.root.appendingPathComponent(folder).appendingPathComponent("identifier")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let input = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
                let elapsed = ContinuousClock().measure {
                    do throws(PropertyViolation) { try IdentifierProperties.check(input) } catch { Issue.record("\(folder)/identifier/\(name): \(error)") }
                }
                #expect(elapsed < .seconds(5), "\(folder)/identifier/\(name) took \(elapsed)")
                if folder == "Corpus" { seeds += 1 }
            }
        }
        #expect(seeds > 0, "FuzzTesting/Corpus/identifier has seeds")
    }
}
