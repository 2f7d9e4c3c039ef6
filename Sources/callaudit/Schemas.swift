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
        for type in EventType.allCases {
            let path = "\(directory)/\(type.rawValue).schema.json"
            try (EventContract.jsonSchema(for: type).prettyPrinted() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        print("wrote \(EventType.allCases.count) schemas to \(directory)")
    }
}
