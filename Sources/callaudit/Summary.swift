import ArgumentParser
import CallAuditStore

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the store holds: events by type, dead letters by reason, Kafka positions per group.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let connection = try PostgresConnection(conninfo: database.resolved)
        let byType = try connection.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
        let total = byType.rows.reduce(0) { $0 + Int($1[1]!)! }
        print("events stored: \(total)")
        for row in byType { print("  " + pad(row[0]!, 28) + row[1]!) }
        let letters = try DeadLetterStore(connection: connection).counts()
        print("dead letters: \(letters.reduce(0) { $0 + $1.count })")
        for letter in letters { print("  " + pad(letter.reason, 18) + pad(letter.status, 10) + String(letter.count)) }
        let positions = try connection.query(
            "SELECT consumer_group, count(*), sum(next_offset) FROM kafka_offsets GROUP BY 1 ORDER BY 1")
        for row in positions {
            print("consumer group \(row[0]!): \(row[1]!) partitions, \(row[2]!) messages consumed")
        }
    }
}
