import CallAuditDomain
import CallAuditStore
import Foundation

/// Inserts an event with plain SQL; only the owner may also choose its transaction id.
func insertEvent(_ id: String, on connection: PostgresConnection, transactionID: Int? = nil) throws {
    let event = try EventDecoder.validate(ContractEvent.callEnded(id: id))
    try connection.query(
        """
        INSERT INTO events (stream, type, source, event_id, event_time, event, content_hash, transaction_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8::xid8, pg_current_xact_id()))
        """,
        [.text(event.stream), .text(event.typeName), .text(event.source), .text(event.id), .text(event.time.rfc3339),
         .text(String(decoding: event.canonical, as: UTF8.self)), .bytes(event.contentHash),
         transactionID.map { .int($0) } ?? .null])
}

/// The whole database as `pg_dump` writes it: what someone holding a backup holds.
func pgDump(_ database: TestDatabase) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/pg_dump")
    process.arguments = ["--no-owner", database.ownerURL]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
