import Foundation
import Testing

@testable import CallAuditDomain

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("The published JSON Schemas and the Swift decoder agree")
struct SchemaAgreementTests {
    @Test("committed schemas are exactly what the contract generates")
    func committedSchemasAreCurrent() throws {
        for type in EventType.allCases {
            let path = repositoryRoot.appendingPathComponent("schemas/events/\(type.rawValue).schema.json")
            let committed = try String(contentsOf: path, encoding: .utf8)
            #expect(committed == EventContract.jsonSchema(for: type).prettyPrinted() + "\n", "run `callaudit schemas` and commit: \(type.rawValue)")
        }
        for type in OwnEventType.allCases {
            let path = repositoryRoot.appendingPathComponent("schemas/events/\(type.rawValue).schema.json")
            let committed = try String(contentsOf: path, encoding: .utf8)
            #expect(committed == EventContract.jsonSchema(for: type).prettyPrinted() + "\n", "run `callaudit schemas` and commit: \(type.rawValue)")
        }
    }

    @Test("every sample gets the contract's verdict from both Python jsonschema and the Swift decoder")
    func corpusAgrees() throws {
        let samples = ContractCorpus.samples
        #expect(samples.count > 200)
        let python = try pythonVerdicts(samples)
        for sample in samples {
            let swiftValid = (try? EventDecoder.validate(try JSONParser.parse(sample.raw))) != nil
            #expect(swiftValid == sample.valid, "Swift decoder disagrees with the contract on: \(sample.name)")
            #expect(python[sample.name] == sample.valid, "jsonschema disagrees with the contract on: \(sample.name)")
        }
    }

    private func pythonVerdicts(_ samples: [ContractCorpus.Sample]) throws -> [String: Bool] {
        let input = samples.map { JSONValue.object([("name", .string($0.name)), ("raw", .string($0.raw))]).canonicalString }
            .joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("ops/schema_check.py").path]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "ops/schema_check.py failed; is python3-jsonschema installed?")
        var verdicts: [String: Bool] = [:]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "\t")
            verdicts[String(parts[0])] = parts[1] == "valid"
        }
        #expect(verdicts.count == Set(samples.map(\.name)).count)
        return verdicts
    }
}
