import ArgumentParser
import CallAuditQueries

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the store holds: events by type, dead letters by reason, Kafka positions per group.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let summary = try ReadSide(connection: try database.connect()).storeSummary()
        print("events stored: \(summary.events)")
        for (type, count) in summary.eventsByType { print("  " + pad(type, 28) + String(count)) }
        print("dead letters: \(summary.deadLetters.reduce(0) { $0 + $1.count })")
        for letter in summary.deadLetters { print("  " + pad(letter.reason, 18) + pad(letter.status, 10) + String(letter.count)) }
        for group in summary.consumerGroups {
            print("consumer group \(group.name): \(group.partitions) partitions, \(group.consumed) messages consumed")
        }
    }
}
