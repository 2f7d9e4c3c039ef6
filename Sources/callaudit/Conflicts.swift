import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIntegrity
import CallAuditSigning
import CallAuditStore
import Foundation

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Republishes that reused a stored event's (source, id) with other content: the evidence, newest first.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "How many.") var limit = 50

    func run() throws {
        let conflicts = try EventStore(connection: try database.connect()).conflicts(limit: limit)
        guard !conflicts.isEmpty else {
            print("no conflicting republishes")
            return
        }
        for conflict in conflicts {
            let origin = conflict.origin.map { "\($0.topic)[\($0.partition)]@\($0.offset)" } ?? "-"
            print(
                "\(conflict.id)\t\(conflict.recordedAt)\t\(conflict.source) \(conflict.eventID)\toriginal at position \(conflict.originalPosition) "
                    + "(\(conflict.originalSHA256.prefix(16))…)\tconflicting \(conflict.conflictingSHA256.prefix(16))…\tfrom \(origin)")
        }
    }
}
