import ArgumentParser
import CallAuditDomain
import Foundation

struct Schemas: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the event contract as JSON Schema files (one per event type).")

    @Option(help: "Directory to write into.")
    var directory = "schemas/events"

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let schemas = EventType.allCases.map { ($0.rawValue, EventContract.jsonSchema(for: $0)) }
            + OwnEventType.allCases.map { ($0.rawValue, EventContract.jsonSchema(for: $0)) }
        for (name, schema) in schemas {
            try (schema.prettyPrinted() + "\n").write(toFile: "\(directory)/\(name).schema.json", atomically: true, encoding: .utf8)
        }
        print("wrote \(schemas.count) schemas to \(directory)")
    }
}
